from compensation_report.cli import main

main()
