"""`python -m simulator`: the same CLI as the `simulator` script and `./pants run libs/simulator:cli`."""

from simulator.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
