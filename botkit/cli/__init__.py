"""The botkit command and its subcommands."""
