"""Pure signal processing on arrays: detectors, restorers, quality measures, the degradation
simulator and windowed processing. No file, engine or model code here (see DESIGN.md)."""
