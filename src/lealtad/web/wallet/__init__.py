"""The member's wallet: card, rewards, vouchers, history and account, at /w/<business>."""
