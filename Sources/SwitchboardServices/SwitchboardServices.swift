// SwitchboardServices
