from cchc_xls.cli import main

main()
