// GraphEmulator
