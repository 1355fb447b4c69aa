"""Request bodies of one real home per dataset, as a client would send them."""

from __future__ import annotations

CALIFORNIA = {"longitude": -122.23, "latitude": 37.88, "housing_median_age": 41,
              "total_rooms": 880, "total_bedrooms": 129, "population": 322, "households": 126,
              "median_income": 8.3252, "ocean_proximity": "NEAR BAY"}
BENGALURU = {"area_type": "Super built-up  Area", "availability": "19-Dec",
             "location": "Electronic City Phase II", "size": "2 BHK", "society": "Coomee",
             "total_sqft": "1056", "bath": 2, "balcony": 1}
BODIES = {"california": CALIFORNIA, "bengaluru": BENGALURU}
