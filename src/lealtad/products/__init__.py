"""What a business sells, as the counter's product buttons: code, category, name, price."""
