"""Bengaluru's feature builder: leak-free target encodings, odd locations, needs the target."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from homeprice.datasets.bengaluru.features import BengaluruFeatures
from homeprice.errors import UnsupportedError
from homeprice.training.candidates import CANDIDATES, build_pipeline
from homeprice.training.evaluation import predict_with_interval
from homeprice.training.fitting import fit_calibrated


def test_target_encoding_is_cross_fitted(clean_data) -> None:
    """While training, a listing's own price must not feed its location encoding.

    Guards the cross-fitting itself (not merely "the two encodings differ"): making one listing
    50 times dearer leaves its own training-time encoding exactly as it was (it comes from the
    other folds), while the fitted encoder, which has seen the listing, moves.
    """
    X, y = clean_data["bengaluru"]
    y = np.asarray(y, dtype=float)
    plain = BengaluruFeatures()
    during_plain = plain.fit_transform(X, y)
    column = list(plain.get_feature_names_out()).index("location_te")
    counts = X["location"].map(X["location"].value_counts()).to_numpy()
    for row in np.flatnonzero(counts >= 30)[:3]:  # well-populated locations
        dearer = y.copy()
        dearer[row] *= 50
        skewed = BengaluruFeatures()
        during_skewed = skewed.fit_transform(X, dearer)
        assert during_skewed[row, column] == during_plain[row, column], row
        listing = X.iloc[[row]]
        assert (skewed.transform(listing)[0, column]
                > plain.transform(listing)[0, column]), row



def test_a_level_seen_once_is_encoded_without_its_own_price(clean_data) -> None:
    """Levels are no longer grouped as "rare" by default: a society seen once in training
    keeps an encoding of its own at serving (shrunk toward the mean, moved by its price), yet
    its training-time encoding never sees that price (its fold did not hold the level)."""
    X, y = clean_data["bengaluru"]
    y = np.asarray(y, dtype=float)
    counts = X["society"].map(X["society"].value_counts()).to_numpy()
    row = int(np.flatnonzero(counts == 1)[0])
    plain = BengaluruFeatures()
    during_plain = plain.fit_transform(X, y)
    column = list(plain.get_feature_names_out()).index("society_te")
    dearer = y.copy()
    dearer[row] *= 50
    skewed = BengaluruFeatures()
    during_skewed = skewed.fit_transform(X, dearer)
    assert during_skewed[row, column] == during_plain[row, column]
    listing = X.iloc[[row]]
    assert plain._levels(listing)[0, 1] != "__rare__"
    served_plain = plain.transform(listing)[0, column]
    assert skewed.transform(listing)[0, column] > served_plain
    # Served apart from a society never seen, which gets the overall mean.
    unseen = plain.transform(listing.assign(society="Never Listed Towers"))[0, column]
    assert served_plain != unseen
    assert unseen == plain.encoder_.target_mean_

def test_unseen_and_missing_locations_are_handled(clean_data) -> None:
    X, y = clean_data["bengaluru"]
    fitted = BengaluruFeatures().fit(X, y)
    odd = X.head(2).assign(location=["Nowhere Layout 99", None], society=[None, "Brand New"])
    assert np.isfinite(fitted.transform(odd)).all()


def test_bengaluru_needs_the_target() -> None:
    with pytest.raises(ValueError, match="needs the target"):
        BengaluruFeatures().fit_transform(pd.DataFrame({"location": ["a"]}))


def test_lookup_encodings_match_the_target_encoder(clean_data) -> None:
    X, y = clean_data["bengaluru"]
    builder = BengaluruFeatures().fit(X, y)
    names = list(builder.get_feature_names_out())
    ours = builder.transform(X)[:, [names.index(f"{column}_te") for column in (
        "location", "society", "location_bedrooms", "society_bedrooms")]]
    theirs = builder.encoder_.transform(builder._levels(X))
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


# Spellings a buyer would call the same place: case, outer and inner whitespace, a trailing
# zero-width space, a BOM, full-width letters and a no-break space.
LOCATION_VARIANTS = ["whitefield", "WHITEFIELD", "  Whitefield ", "Whitefield\u200b",
                     "\ufeffWhitefield", "Ｗｈｉｔｅｆｉｅｌｄ", "Electronic\u00a0City  Phase II"]


@pytest.mark.parametrize("variant", LOCATION_VARIANTS)
def test_location_spellings_price_like_the_canonical_one(clean_data, variant: str) -> None:
    """A trained pipeline (features -> LightGBM, as served) gives a variant spelling the
    canonical level's price, not the "rare" one."""
    X, y = clean_data["bengaluru"]
    canonical = "Electronic City Phase II" if "Electronic" in variant else "Whitefield"
    assert (X["location"] == canonical).sum() >= 3, "the canonical level must be frequent"
    pipeline = build_pipeline("bengaluru", CANDIDATES["lightgbm"],
                              CANDIDATES["lightgbm"].defaults | {"n_estimators": 50}, seed=0,
                              n_jobs=1, log_target=True)
    pipeline.fit(X, y)
    rows = X.head(5).assign(location=canonical)
    expected = pipeline.predict(rows)
    np.testing.assert_array_equal(pipeline.predict(rows.assign(location=variant)), expected)
    # ...and the canonical spelling is not priced like an unseen place.
    unseen = pipeline.predict(rows.assign(location="Nowhere Layout 99"))
    assert not np.allclose(unseen, expected)


def test_variant_spellings_are_one_level_while_training(clean_data) -> None:
    """Training folds spellings too: a level split over spellings counts as one."""
    X, y = clean_data["bengaluru"]
    spelled = X.copy()
    whitefield = spelled.index[spelled["location"] == "Whitefield"]
    spelled.loc[whitefield[::2], "location"] = "whitefield\u200b"
    plain = BengaluruFeatures().fit(X, y)
    folded = BengaluruFeatures().fit(spelled, y)
    assert folded.location_counts_ == plain.location_counts_
    np.testing.assert_allclose(folded.transform(X), plain.transform(X))


def test_a_folded_location_is_named_by_its_most_common_spelling(clean_data) -> None:
    """The location list shows "Whitefield", not the key "whitefield", whatever minority
    spellings the listings carry."""
    X, y = clean_data["bengaluru"]
    spelled = X.copy()
    whitefield = spelled.index[spelled["location"] == "Whitefield"]
    spelled.loc[whitefield[::3], "location"] = "WHITEFIELD  "
    fitted = BengaluruFeatures().fit(spelled, y)
    assert fitted.location_names_["whitefield"] == "Whitefield"
    assert "__missing__" not in fitted.location_names_


def test_pipelines_fitted_before_folding_keep_matching_exactly(clean_data) -> None:
    """A model registered before keys were folded keeps the behaviour it was validated with."""
    X, y = clean_data["bengaluru"]
    builder = BengaluruFeatures().fit(X, y)
    del builder.level_form_  # as unpickled from a model fitted by the earlier code
    column = list(builder.get_feature_names_out()).index("location_listings")

    def listings(location: str) -> float:
        return builder.transform(X.head(1).assign(location=location))[0, column]

    # Without the marker the stored keys are looked up verbatim (exact strings, as before).
    assert listings("whitefield") > 0
    assert listings("Whitefield") == 0.0


def test_combined_levels_price_bedrooms_within_a_location(clean_data) -> None:
    """location x bedrooms is encoded on its own: within one location a 1-bedroom and a
    3-bedroom listing get different encodings (each from its own listings)."""
    X, y = clean_data["bengaluru"]
    builder = BengaluruFeatures().fit(X, y)
    names = list(builder.get_feature_names_out())
    row = X[X["location"] == "Whitefield"].head(1)
    one, three = (builder.transform(row.assign(bedrooms=n))[0] for n in (1.0, 3.0))
    column = names.index("location_bedrooms_te")
    assert one[column] != three[column]
    assert one[names.index("location_te")] == three[names.index("location_te")]
    keys = builder._raw_levels(row.assign(bedrooms=3.0), "location_bedrooms")
    assert keys == ["whitefield|3"]


def test_pipelines_fitted_before_combined_levels_keep_their_columns(clean_data,
                                                                      monkeypatch) -> None:
    """A model registered before location x bedrooms existed encodes what it was fitted on."""
    X, y = clean_data["bengaluru"]
    monkeypatch.setattr(BengaluruFeatures, "_ENCODED", BengaluruFeatures._FIRST_ENCODED)
    builder = BengaluruFeatures().fit(X, y)
    monkeypatch.undo()
    del builder.encoded_  # as unpickled from a model fitted by the earlier code
    Z = builder.transform(X.head(5))
    assert Z.shape == (5, len(builder.get_feature_names_out()))
    assert "society_bedrooms_te" not in builder.get_feature_names_out()


def test_listings_without_a_size_are_priced_from_what_they_have(cleaned, clean_data) -> None:
    """Plots are listed by area only: cleaning keeps them, the features impute their bedroom
    count with the training median and flag them, instead of refusing them."""
    X, y = clean_data["bengaluru"]
    sizeless = X["bedrooms"].isna()
    assert sizeless.any(), "the shared data has listings without a size"
    assert (cleaned["bengaluru"].loc[sizeless, "area_type"] == "Plot Area").all()
    builder = BengaluruFeatures().fit(X, y)
    names = list(builder.get_feature_names_out())
    Z = builder.transform(X)
    assert np.isfinite(Z).all()
    np.testing.assert_array_equal(Z[:, names.index("size_missing")], sizeless.to_numpy(float))
    median = float(X["bedrooms"].median())
    assert builder.medians_["bedrooms"] == median
    np.testing.assert_array_equal(Z[sizeless.to_numpy(), names.index("bedrooms")], median)
    # Sizeless listings in a location are a level of their own in the combined encodings.
    assert builder._raw_levels(X[sizeless].head(1), "location_bedrooms")[0].endswith("|nan")


def test_a_model_fitted_before_sizeless_listings_refuses_them_clearly(clean_data) -> None:
    """An unpickled builder without the bedroom median keeps its columns and answers a
    sizeless listing with a 501-class error naming what to send, not a NaN price."""
    X, y = clean_data["bengaluru"]
    builder = BengaluruFeatures().fit(X, y)
    del builder.medians_["bedrooms"]  # as unpickled from a model fitted by the earlier code
    assert "size_missing" not in builder._names()
    with_size = X[X["bedrooms"].notna()].head(3)
    assert builder.transform(with_size).shape[1] == len(builder._names())
    with pytest.raises(UnsupportedError, match="give size"):
        builder.transform(with_size.assign(bedrooms=np.nan))


def test_sizeless_listings_get_intervals_calibrated_on_their_own(clean_data) -> None:
    """fit_calibrated finds the builder's `interval_group` column: the sizeless listings'
    band comes from their own out-of-fold residuals, not from the complete listings'."""
    X, y = clean_data["bengaluru"]
    half = len(X) // 2
    pipeline = build_pipeline("bengaluru", CANDIDATES["lightgbm"],
                              CANDIDATES["lightgbm"].defaults | {"n_estimators": 30}, seed=0,
                              n_jobs=1, log_target=True)
    fit_calibrated(pipeline, (X.iloc[:half], y.iloc[:half]), (X.iloc[half:], y.iloc[half:]),
                   how="cross", folds=3, seed=0)
    interval = pipeline[-1]
    names = list(pipeline[:-1].get_feature_names_out())
    assert interval.group_column_ == names.index("size_missing")
    assert interval.group_size_ == int(X["bedrooms"].isna().sum())
    sizeless = X[X["bedrooms"].isna()]
    price, lower, upper = predict_with_interval(pipeline, sizeless)
    if interval.group_size_ < 9:  # fewer than 9 residuals: no finite 90% quantile
        assert (lower == interval.target_range_[0]).all()
        assert (upper == interval.target_range_[1]).all()
    assert np.isfinite(price).all() and (lower <= price).all() and (price <= upper).all()
