from strongbox.cli.main import main

main()
