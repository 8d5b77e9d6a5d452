"""`python -m local_stack`: the same CLI as `./pants run infra/local:stack`."""

from local_stack.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
