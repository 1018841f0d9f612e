// Messenger
