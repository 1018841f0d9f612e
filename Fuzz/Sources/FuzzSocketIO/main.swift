// placeholder: the FuzzSocketIO libFuzzer entry point goes here
