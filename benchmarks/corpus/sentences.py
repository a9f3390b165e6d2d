"""Sentences for the TTS voices, written for this corpus (plus a few lines of Alice in Wonderland, public
domain). Varied on purpose: statements, questions, exclamations, lists, numbers, dates, names, short and
long, so restoration is measured on more than one prosody. `sentences(lang)` is the stable, ordered pool;
splits take disjoint subsets of it (see splits.py)."""

from __future__ import annotations

_EN_WRITTEN = """
The old radio in the kitchen still works, although it hums a little when the kettle is on.
Could you tell me where the nearest post office is?
She wrote three letters before breakfast and posted them on her way to the station.
Nobody expected the river to rise so quickly after only two days of rain.
Please close the window; the draught is blowing the papers off the desk.
How many people attended the concert last Saturday?
The lighthouse keeper counted the ships that passed between dusk and dawn.
We arrived late, missed the first act, and spent the interval looking for our seats.
Is it true that the library will stay open until nine on Thursdays?
A small brown dog followed the postman along the whole length of Mill Lane.
The recording was made in nineteen fifty-two, in a church hall with a wooden floor.
What a wonderful surprise to see you here!
He put the kettle on, sat down by the fire, and opened the evening paper.
The committee will meet again on the fourteenth of October at half past two.
Take the second turning on the left, then walk straight on until you reach the bridge.
Why does the clock in the hall always run five minutes fast?
Mrs. Patel grows tomatoes, beans and courgettes in the garden behind the bakery.
The choir rehearsed the same four bars for almost an hour.
I have never seen so many starlings in one place.
The price of a loaf rose from twelve pence to fifteen pence in a single year.
Did you remember to feed the cat before you left?
The engineer adjusted the tape machine and asked the band to play the chorus again.
Snow fell all night, and by morning the village was silent and white.
Thomas and Eleanor were married in the spring of eighteen ninety-eight.
Would you rather travel by train or by boat?
The museum has a collection of more than four thousand wax cylinders.
Keep to the path, because the moor is soft after the storms.
One, two, three, four, five: the children counted aloud as they climbed the steps.
The telephone rang twice and then stopped.
Where did you put the key to the garden shed?
The farmer said the harvest would be early if the weather held.
A gentle wind moved the curtains, and somewhere a door creaked open.
Our train was delayed by forty minutes near Crewe.
Have you ever heard your own voice on an old gramophone record?
The baker opens at six, but the best bread is gone by seven.
Walter measured the room twice and still bought the wrong size of carpet.
It was the coldest winter anyone in the parish could remember.
Turn the volume down a little, please; the neighbours are asleep.
The ferry to the island leaves every hour from the north pier.
Margaret laughed so hard that she had to sit down on the stairs.
How long does it take to walk to the top of the hill?
There are seven hundred and twenty steps to the top of the tower.
The teacher asked each pupil to bring a leaf, a stone and a feather.
After the interval, the orchestra played a slow movement by candlelight.
Is anyone sitting in this seat?
The parcel weighed three and a half kilograms and cost nine pounds to send.
We listened to the match on the wireless, crowded around the table.
Captain Harris ordered the sails to be lowered before the squall arrived.
What time does the last bus leave for Oxford?
The garden was full of bees, and the air smelled of lavender and cut grass.
She practised the violin every evening, even on holidays.
Grandfather kept every ticket from every journey he had ever made.
The bridge was built in eighteen thirty-one and widened a century later.
Can you hear the difference between the two recordings?
It rained on Monday, Tuesday and Wednesday, and then the sun came out at last.
The doctor will see you in about ten minutes.
A flock of geese flew low over the marsh, calling to each other.
My brother collects stamps from countries that no longer exist.
Shall we meet outside the cinema at a quarter to eight?
The sound engineer wrote the date, the room and the microphone on every box.
Hundreds of people queued in the square to hear the mayor speak.
The old mill wheel turned slowly, creaking with every revolution.
Who left the gate open?
The soup needs more salt, a little pepper and perhaps a bay leaf.
We found the letters in a biscuit tin at the back of the wardrobe.
On clear nights you can see the lights of four villages from the ridge.
The speaker paused, cleared his throat, and began again.
Is the museum free on Sundays, or do we need tickets?
Anna ran the last mile of the race with a stone in her shoe.
Fifty-six thousand copies of the record were sold in the first month.
Never put a wet plate back in the cupboard.
The harbour master raised a flag to warn the fishing boats.
Why is the sky red in the evening after a dry day?
The piano had not been tuned for twenty years, and it sounded like it.
Every morning at eight the postman whistles the same tune.
Do you think it will snow before Christmas?
The archive holds interviews with miners, weavers, fishermen and nurses.
The kettle boiled, the toast burned, and the smoke alarm went off.
At the end of the lane there is a cottage with a blue door.
George was born on the second of February, nineteen twenty-four, in Leeds.
How did they manage to record an entire orchestra with a single microphone?
The students listened carefully as the professor played the old disc.
Please write your name, your address and your telephone number on the form.
The storm knocked down two trees and cut off the power for a day.
We could hear the sea long before we could see it.
Which platform does the train for Edinburgh leave from?
The shopkeeper weighed out a pound of apples and half a pound of cheese.
She sang the lullaby her grandmother used to sing to her.
The match was abandoned after thirty-five minutes because of fog.
Did the letter arrive on time, or was it lost in the post?
The clock struck midnight just as the last guests were leaving.
Peter painted the fence green, then changed his mind and painted it white.
Long ago, before the railway came, the village had its own brewery.
Wait here until I come back, and do not open the door to anyone.
The radio announcer read the shipping forecast in a calm and steady voice.
There were forty-two chairs in the hall, but only thirty people came.
How often do you listen to the recordings your father made?
The cellist tuned her instrument, nodded to the pianist, and began.
Rain drummed on the tin roof all through the night.
Mr. Okafor repairs watches in a tiny shop near the cathedral.
The first broadcast went out at seven o'clock on a Tuesday evening.
I am afraid the restaurant is fully booked until next week.
The fox slipped under the hedge and disappeared into the wheat.
Can you spell your surname for me, please?
Our house is the third one on the right, after the pillar box.
The band played until the small hours, and nobody wanted to go home.
Please hold the line; I will put you through in a moment.
The tide goes out so far here that you can walk to the island.
Does this bus stop at the hospital?
The carpenter measured twice and cut once, just as his father had taught him.
Sixty years later, she could still remember every word of the song.
The ice on the pond was thick enough to skate on by the end of January.
Here is the news, read by John Andrews.
The woman in the red coat asked whether the shop sold batteries.
Under the floorboards they found a penny dated seventeen ninety-seven.
Quiet, please: the recording light is on.
""".strip().splitlines()

# Public domain: Lewis Carroll, Alice's Adventures in Wonderland (1865), chapter one.
_EN_ALICE = """
Alice was beginning to get very tired of sitting by her sister on the bank, and of having nothing to do.
So she was considering in her own mind whether the pleasure of making a daisy-chain would be worth the trouble of getting up and picking the daisies.
Suddenly a White Rabbit with pink eyes ran close by her.
There was nothing so very remarkable in that.
Oh dear! Oh dear! I shall be late!
In another moment down went Alice after it, never once considering how in the world she was to get out again.
Either the well was very deep, or she fell very slowly, for she had plenty of time as she went down to look about her.
Down, down, down. Would the fall never come to an end?
I wonder how many miles I've fallen by this time?
Alice had no idea what latitude was, or longitude either, but thought they were nice grand words to say.
Do cats eat bats? Do cats eat bats?
There were doors all round the hall, but they were all locked.
Alice opened the door and found that it led into a small passage, not much larger than a rat-hole.
It was all very well to say drink me, but the wise little Alice was not going to do that in a hurry.
What a curious feeling! I must be shutting up like a telescope.
""".strip().splitlines()

_NAMES = ["Alice Morgan", "Dr. Chen", "Mr. Olsen", "Fatima", "Captain Reyes", "Professor Abara", "Mrs. Lindqvist",
          "Uncle Bertram", "Sister Agnes", "young Tobias", "Ms. Kowalski", "old Mr. Pennington"]
_PLACES = ["Bristol", "Aberdeen", "Lisbon", "Baltimore", "Galway", "Krakow", "Hobart", "Winnipeg", "Mombasa",
           "Valparaiso", "Bergen", "Dunedin"]
_TEMPLATES = [
    "{name} took the {h}:{m:02d} train from {place} and arrived {d} minutes late.",
    "Did {name} really pay {n} pounds for a ticket to {place}?",
    "Flight {f} to {place} will now depart from gate {g}.",
    "The shipment of {n} crates reached {place} on the {day} of {month}.",
    "Call {name} back before {h} o'clock, the number is {tel}.",
    "In {year}, {name} recorded {d} songs in a single afternoon in {place}.",
    "Why did {name} leave {place} after only {d} days?",
    "Room {g}{f} is on the {day} floor, next to the lifts.",
    "The temperature in {place} fell to minus {d} degrees last night!",
    "{name} counted {n} sheep, {d} goats and one very stubborn donkey.",
]
_DAYS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "ninth", "twelfth", "twentieth",
         "twenty-first", "thirtieth"]
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]


def _templated(count: int = 120) -> list[str]:
    """Sentences with numbers, times, dates, phone numbers and names, from a fixed arithmetic sequence
    (no RNG, so the pool never changes)."""
    out = []
    for i in range(count):
        k = i * 7 + 3
        out.append(_TEMPLATES[i % len(_TEMPLATES)].format(
            name=_NAMES[(i * 5) % len(_NAMES)], place=_PLACES[(i * 7 + i // 12) % len(_PLACES)],
            h=1 + k % 12, m=(k * 13) % 60, d=2 + (k * 11) % 57, n=10 + (k * 37) % 990,
            f=100 + (k * 53) % 900, g=1 + k % 9, day=_DAYS[k % len(_DAYS)], month=_MONTHS[(k * 5) % 12],
            year=1890 + (k * 3) % 80, tel=" ".join(f"{(i * 7919 + 104729) % 10**7:07d}")))
    return list(dict.fromkeys(out))  # no sentence twice, so no sentence can land in two splits


_DE = """
Der Zug nach Hamburg fährt heute von Gleis sieben ab.
Hast du die alten Schallplatten auf dem Dachboden gefunden?
Im Winter liegt hier oft mehr als ein Meter Schnee.
Meine Großmutter hat jeden Abend Radio gehört.
Wie spät ist es eigentlich?
Die Kapelle spielte bis tief in die Nacht.
Bitte schließen Sie die Tür, es zieht.
Das Museum besitzt über dreitausend Tonbänder.
Warum ist der Fluss in diesem Jahr so hoch gestiegen?
Er kaufte zwei Brote, ein Pfund Butter und sechs Eier.
Am Sonntag wandern wir auf den Berg hinter dem Dorf.
Die Aufnahme stammt aus dem Jahr neunzehnhundertzweiundfünfzig.
Kannst du mir sagen, wo der Bahnhof ist?
Der Hund schlief friedlich vor dem warmen Ofen.
Was für ein herrlicher Morgen!
Die Kinder sangen ein Lied über den Mond und die Sterne.
Herr Becker repariert seit vierzig Jahren Uhren.
Im Hafen lagen drei große Schiffe und viele kleine Boote.
Wir treffen uns um halb acht vor dem Theater.
Der Lehrer las die Geschichte zweimal vor.
Wo hast du den Schlüssel hingelegt?
Nach dem Gewitter roch die Luft nach nassem Gras.
Die Glocken der Kirche läuteten um zwölf Uhr.
Anna spielt Geige, und ihr Bruder spielt Klavier.
Das Paket wiegt genau vier Kilogramm.
Morgen soll es regnen, sagt der Wetterbericht.
Wie viele Menschen wohnen in dieser Stadt?
Der alte Müller erzählte Geschichten aus seiner Jugend.
Bitte sprechen Sie langsam und deutlich.
Am Ende der Straße steht ein Haus mit roten Fensterläden.
""".strip().splitlines()

_FR = """
Le train pour Lyon partira avec dix minutes de retard.
Avez-vous déjà entendu un vieux disque de gramophone?
Il a neigé toute la nuit sur les toits du village.
Ma grand-mère écoutait la radio chaque soir après le dîner.
Quelle heure est-il, s'il vous plaît?
Les musiciens ont joué jusqu'à l'aube.
Fermez la fenêtre, il fait froid ce matin.
La bibliothèque possède plus de deux mille enregistrements.
Pourquoi la rivière est-elle si haute cette année?
Elle a acheté trois baguettes, du fromage et une bouteille de lait.
Dimanche, nous irons nous promener au bord de la mer.
Cet enregistrement date de mil neuf cent cinquante-quatre.
Pouvez-vous m'indiquer le chemin de la gare?
Le chat dormait au soleil sur le rebord de la fenêtre.
Quelle belle surprise de vous voir ici!
Les enfants chantaient une chanson sur la lune.
Monsieur Girard répare des montres depuis trente ans.
Trois grands bateaux étaient amarrés dans le port.
Rendez-vous devant le théâtre à huit heures moins le quart.
Le professeur a lu le poème deux fois.
Où as-tu mis la clé de la cave?
Après l'orage, l'air sentait l'herbe mouillée.
Les cloches de l'église ont sonné midi.
Julie joue du violoncelle et son frère joue de la flûte.
Le colis pèse exactement cinq kilogrammes.
Demain, il pleuvra sur toute la côte atlantique.
Combien de personnes habitent dans cette ville?
Le vieux meunier racontait des histoires de sa jeunesse.
Parlez lentement, s'il vous plaît.
Au bout de la rue, il y a une maison aux volets bleus.
""".strip().splitlines()

_ES = """
El tren para Sevilla sale del andén número cuatro.
¿Has encontrado los discos viejos en el desván?
En invierno, la nieve cubre las montañas del norte.
Mi abuelo escuchaba la radio todas las noches.
¿Qué hora es, por favor?
La orquesta tocó hasta la madrugada.
Cierra la puerta, que hace frío.
El archivo guarda más de cinco mil grabaciones.
¿Por qué ha crecido tanto el río este año?
Compró dos barras de pan, un kilo de tomates y seis huevos.
El domingo vamos a caminar por la sierra.
Esta grabación es de mil novecientos cincuenta y siete.
¿Me puede decir dónde está la estación?
El perro dormía tranquilo junto a la chimenea.
¡Qué mañana tan bonita!
Los niños cantaban una canción sobre el mar.
Don Ramón arregla relojes desde hace cuarenta años.
En el puerto había tres barcos grandes y muchas barcas.
Nos vemos a las ocho y media delante del teatro.
La maestra leyó el cuento dos veces.
¿Dónde has dejado las llaves?
Después de la tormenta, el aire olía a tierra mojada.
Las campanas de la iglesia dieron las doce.
Lucía toca la guitarra y su hermano toca el piano.
El paquete pesa exactamente tres kilos.
Mañana lloverá en toda la costa, según el pronóstico.
¿Cuántas personas viven en este pueblo?
El viejo pescador contaba historias de su juventud.
Hable despacio y con claridad, por favor.
Al final de la calle hay una casa con las ventanas verdes.
""".strip().splitlines()

_IT = """
Il treno per Milano parte alle otto e un quarto.
Hai trovato i vecchi dischi in soffitta?
D'inverno la neve copre tutte le colline.
Mia nonna ascoltava la radio ogni sera.
Che ore sono, per favore?
La banda ha suonato fino a mezzanotte.
Chiudi la finestra, fa freddo.
L'archivio conserva più di quattromila registrazioni.
Perché il fiume è così alto quest'anno?
Ha comprato due pagnotte, del formaggio e una bottiglia d'olio.
Domenica andiamo a camminare in montagna.
Questa registrazione risale al millenovecentosessanta.
Mi sa dire dov'è la stazione?
Il gatto dormiva al sole sul davanzale.
Che bella sorpresa vederti qui!
I bambini cantavano una canzone sulla luna.
Il signor Rossi ripara orologi da trent'anni.
Nel porto c'erano tre grandi navi e molte barche.
Ci vediamo alle nove davanti al teatro.
La maestra ha letto la poesia due volte.
Dove hai messo le chiavi della cantina?
Dopo il temporale l'aria profumava di erba bagnata.
Le campane della chiesa hanno suonato mezzogiorno.
Giulia suona il violino e suo fratello suona la tromba.
Il pacco pesa esattamente sei chili.
Domani pioverà su tutta la costa.
Quante persone abitano in questo paese?
Il vecchio pescatore raccontava storie della sua giovinezza.
Parli lentamente, per favore.
In fondo alla strada c'è una casa con le persiane verdi.
""".strip().splitlines()

_NL = """
De trein naar Utrecht vertrekt van spoor negen.
Heb je de oude platen op zolder gevonden?
In de winter vriest het hier soms wekenlang.
Mijn opa luisterde elke avond naar de radio.
Hoe laat is het, alstublieft?
Het orkest speelde tot diep in de nacht.
Doe de deur dicht, het tocht.
Het archief bewaart meer dan drieduizend geluidsbanden.
Waarom staat het water in de rivier zo hoog?
Ze kocht twee broden, een pond kaas en tien eieren.
Zondag fietsen we langs de dijk naar zee.
Deze opname is uit negentienhonderdachtenvijftig.
Kunt u mij vertellen waar het station is?
De hond sliep rustig naast de kachel.
Wat een prachtige dag!
De kinderen zongen een liedje over de wind.
Meneer de Vries repareert al veertig jaar klokken.
In de haven lagen drie grote schepen.
We zien elkaar om half acht bij de schouwburg.
De juf las het verhaal twee keer voor.
Waar heb je de sleutel gelaten?
Na de regen rook de lucht naar nat gras.
De klokken van de kerk luidden om twaalf uur.
Sanne speelt piano en haar broer speelt trompet.
Het pakket weegt precies twee kilo.
Morgen gaat het regenen langs de hele kust.
""".strip().splitlines()

_PT = """
O comboio para o Porto parte da linha três.
Encontraste os discos antigos no sótão?
No inverno chove quase todos os dias.
A minha avó ouvia rádio todas as noites.
Que horas são, por favor?
A banda tocou até de madrugada.
Fecha a janela, está frio.
O arquivo guarda mais de mil gravações.
Porque é que o rio está tão cheio este ano?
Comprou dois pães, queijo e uma dúzia de ovos.
No domingo vamos passear à beira-mar.
Esta gravação é de mil novecentos e sessenta e dois.
Pode dizer-me onde fica a estação?
O gato dormia ao sol na janela.
Que manhã tão bonita!
As crianças cantavam uma canção sobre o mar.
O senhor Almeida conserta relógios há trinta anos.
No porto estavam três navios grandes.
Encontramo-nos às oito em frente ao teatro.
A professora leu a história duas vezes.
Onde puseste as chaves?
Depois da tempestade, o ar cheirava a terra molhada.
Os sinos da igreja tocaram ao meio-dia.
A Marta toca violino e o irmão toca guitarra.
O pacote pesa exatamente quatro quilos.
Amanhã vai chover em toda a costa.
""".strip().splitlines()

_POOLS = {"en": _EN_WRITTEN + _EN_ALICE + _templated(), "de": _DE, "fr": _FR, "es": _ES, "it": _IT,
          "nl": _NL, "pt": _PT}


def languages() -> list[str]:
    return sorted(_POOLS)


def sentences(lang: str) -> list[str]:
    """The ordered pool for a language code (the part before any '-': 'en-us' -> 'en')."""
    return list(_POOLS[lang.split("-")[0]])
