"""Where the settings and the embedded database are looked for: names shared by the settings
model (config.py) and the quick ``show`` (cli/entry.py), which must not load pydantic."""

CONFIG_FILE_NAME = "samizdat.toml"
ENV_PREFIX = "SAMIZDAT_"
DEFAULT_DATA_DIR = "samizdat-data"
DATABASE_FILE_NAME = "samizdat.db"  # the SQLite file in data_dir when database.url is empty
