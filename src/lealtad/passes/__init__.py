"""Apple Wallet and Google Wallet cards: the business's credentials, the signed `.pkpass`, the pass
web service Apple's devices call, update pushes through APNs and the "save to Google Wallet" link."""
