import sys

from infrastructure.cli import main

sys.exit(main(["local", *sys.argv[1:]]))
