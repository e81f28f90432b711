from samizdat.cli import app

app()
