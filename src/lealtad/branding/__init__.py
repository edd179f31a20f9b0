"""A business's look: its logo and brand colour, and what its poster promises a customer."""
