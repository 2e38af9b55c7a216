"""Everything between the host and a DUT: transports, the protocol codec, the session, the
emulator launcher, opening any board's link, and the worker that restarts a dead DUT."""
