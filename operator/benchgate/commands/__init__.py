"""One module per `benchgate` subcommand; each exposes `register(subparsers)`."""
