"""The counter: staff find a member, record a sale, redeem and validate vouchers."""
