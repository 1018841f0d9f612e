"""python-socketio (ASGI, uvicorn) doing the same work as our conformance server's /test
namespace: token auth, join, echo (ack), to-room (broadcast, sender excluded)."""
import socketio

sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins="*", ping_interval=25, ping_timeout=20)
app = socketio.ASGIApp(sio)


@sio.on("connect", namespace="/test")
async def connect(sid, environ, auth):
    if not auth or auth.get("token") != "secret":
        raise socketio.exceptions.ConnectionRefusedError("bad token")


@sio.on("join", namespace="/test")
async def join(sid, room):
    await sio.enter_room(sid, room, namespace="/test")
    return "joined", room


@sio.on("echo", namespace="/test")
async def echo(sid, *args):
    return args[0] if len(args) == 1 else args


@sio.on("to-room", namespace="/test")
async def to_room(sid, request):
    await sio.emit(request["event"], request.get("data"), room=request["room"], skip_sid=sid, namespace="/test")
    return "sent"
