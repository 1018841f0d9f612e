// SocketIOHummingbird
