"""The live board's machinery in one process, below its socket (``blueprint.live.consumer``): the
database thread, the frames and their cache, the hub that fans operations out to tabs, and the
database calls a socket makes."""
