// placeholder: the FuzzEngineIO libFuzzer entry point goes here
