"""The admin console: sign-in, the owner's home, navigation, and one package per section."""
