// SwitchboardApp
