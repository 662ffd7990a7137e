from eagermode.cli import main

main()
