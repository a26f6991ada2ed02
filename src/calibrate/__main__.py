from calibrate.cli import main

main(prog_name="calibrate")
