// placeholder: the FuzzRESP libFuzzer entry point goes here
