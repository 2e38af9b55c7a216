"""External DUTs: firmware tinybench did not build (a vendor's, driven over its serial port).

Nothing is built or flashed; only the standard MLPerf Tiny commands are sent, results are
scored from the printed floats and checked against the host reference within their print
precision. `link` opens the DUT's port, `worker` keeps the session alive and records every
fault, `check` compares printed vectors with the reference, `run` is the run itself.
"""
