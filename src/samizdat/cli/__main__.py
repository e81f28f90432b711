from samizdat.cli.entry import main

main()
