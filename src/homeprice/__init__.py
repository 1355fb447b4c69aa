"""homeprice."""
