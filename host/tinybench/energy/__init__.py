"""Energy mode: power monitors (LPM01A, Joulescope, co-simulated, simulated), the trace they
produce, and the windowing that turns a trace into µJ per inference under the run rules.

trace.py (what every monitor produces) and monitor.py (the interface every driver implements) are
the only things the drivers and the energy mode share; windowing and scoring live once, in
windows.py, never in a driver.
"""
