"""homeprice: the whole life of a house-price model, from raw listings to served prices."""
