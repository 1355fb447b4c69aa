"""Bengaluru's synthetic generator: listings drawn location by location, each location's (or
pool of rare locations') listing kinds resampled whole, and log area and log price per square
foot jointly normal given the kind, as fitted on the real data; written in the source's text
formats."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from homeprice.errors import UserInputError

# A location with fewer clean listings than this is fitted within a pool of rare locations of
# similar price level: 2 continuous columns regressed on 5 conditions need a few dozen rows
# before the coefficients and residual covariance stop being degenerate.
MIN_LISTINGS = 30
# Pools of rare locations, by their median price per square foot (cheap outskirts against
# expensive central streets: one pool would give every small location the city's average).
POOLS = 4
# The continuous columns of a listing, on log scales (areas and prices are multiplicative),
# and the parts of its kind they are conditioned on. The kind's discrete columns (area type,
# bedrooms, availability, baths, balconies, and which are missing) are resampled whole from
# the group's real listings: rounding a normal draw would blur "as many baths as bedrooms",
# the commonest listing.
LATENT = ("log_sqft", "log_price_per_sqft")
CONDITIONS = ("bedrooms", "plot", "ready_to_move", "bath", "balcony")
# Source text formats, measured on the Kaggle file (11,988 rows) because cleaning parses them
# away: 1.6% of areas are ranges ("2100 - 2850", priced at the midpoint), 0.3% carry a unit
# (these two, the small-factor ones; acres or guntha with two decimals would move the area by
# hundreds of square feet), and a size is "N Bedroom" rather than "N BHK" for every plot,
# a fifth of built-up areas and almost no flats.
RANGE_SHARE = 0.016
UNIT_SHARE = 0.003
UNITS = (("Sq. Meter", 10.7639), ("Sq. Yards", 9.0))
BEDROOM_WORD_SHARE = {"Plot Area": 1.0, "Built-up Area": 0.21, "Carpet Area": 0.05}
# Mean half-width of a range relative to its midpoint in the source (exponential, capped).
RANGE_HALF_WIDTH = 0.1
READY_TEXT = "Ready To Move"


def _availability_text(ready: object, available_from: object) -> str | None:
    """The source's availability: "Ready To Move", "18-Dec", or missing when unknown."""
    if pd.isna(ready):
        return None
    if ready:
        return READY_TEXT
    if pd.isna(available_from):
        return None
    return pd.Timestamp(available_from).strftime("%y-%b")


def _source_area_type(area_type: object) -> object:
    # The source file spells area types with two spaces before "Area" ("Plot  Area").
    return area_type.replace(" Area", "  Area") if isinstance(area_type, str) else None


@dataclass
class _Group:
    """One location, or one pool of rare locations: its listing kinds (resampled whole) and
    the regression of the latent columns on the conditions."""

    area_type: np.ndarray
    bedrooms: np.ndarray
    availability: np.ndarray
    bath: np.ndarray
    balcony: np.ndarray
    has_society: np.ndarray
    design: np.ndarray
    """Per kind: 1 and the conditions (missing ones at the group's mean)."""
    coefficients: np.ndarray
    covariance: np.ndarray
    low: np.ndarray
    high: np.ndarray
    """Latent ranges seen in the group (draws are clipped to them)."""


def _design(rows: pd.DataFrame) -> np.ndarray:
    conditions = rows.assign(plot=rows["area_type"] == "Plot Area")[list(CONDITIONS)]
    conditions = conditions.astype(float)
    filled = conditions.fillna(conditions.mean()).fillna(0.0)
    return np.column_stack([np.ones(len(rows)), filled.to_numpy(float)])


def _latent(rows: pd.DataFrame) -> np.ndarray:
    sqft = rows["total_sqft"].to_numpy(float)
    return np.column_stack([np.log(sqft), np.log(rows["price"].to_numpy(float) * 1e5 / sqft)])


def _regression(design: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares coefficients of the latent columns on the design, and the residuals'
    covariance (a small ridge keeps a near-degenerate group positive definite)."""
    coefficients, *_ = np.linalg.lstsq(design, z, rcond=None)
    residuals = z - design @ coefficients
    rank = np.linalg.matrix_rank(design)
    covariance = residuals.T @ residuals / max(len(z) - rank, 1)
    return coefficients, covariance + np.eye(z.shape[1]) * 1e-6


def _group_of_location(counts: pd.Series, level: pd.Series) -> pd.Series:
    """Location -> group number: each frequent location its own, rare ones pooled by price
    level into pools of about equal listings."""
    frequent = counts[counts >= MIN_LISTINGS]
    groups = pd.Series(np.arange(len(frequent)), index=frequent.index)
    rare = counts[counts < MIN_LISTINGS]
    if rare.empty:
        return groups
    pools = max(1, min(POOLS, int(rare.sum()) // MIN_LISTINGS))
    order = level[rare.index].sort_values(kind="stable").index
    share = rare[order].cumsum().shift(fill_value=0) / rare.sum()
    pooled = pd.Series(len(frequent) + np.floor(share * pools).astype(int), index=order)
    return pd.concat([groups, pooled])


@dataclass
class BengaluruSynthesizer:
    """Locations with their share of listings and group; per group its kinds and regression;
    societies per location; and the clean data's least area per bedroom."""

    locations: np.ndarray
    location_weights: np.ndarray
    location_group: np.ndarray
    groups: list[_Group]
    society_names: np.ndarray
    society_owner: np.ndarray
    """Per society name: its block (a location's societies, or a group's)."""
    society_bounds: np.ndarray
    """Cumulative probabilities within each block, offset by the block: block b's in (b, b + 1]."""
    society_block: np.ndarray
    """Per location: its block (its own societies, else its group's: block len(locations) + g)."""
    min_sqft_per_bedroom: float

    @classmethod
    def fit(cls, clean: pd.DataFrame) -> BengaluruSynthesizer:
        """Fit on clean Bengaluru listings (parsed, with the price)."""
        rows = clean[clean["total_sqft"].gt(0) & clean["price"].gt(0)
                     & clean["location"].notna()].reset_index(drop=True)
        if rows.empty:
            raise UserInputError("bengaluru: no clean listings with an area, a price and a "
                                 "location to fit the synthetic generator on")
        if "available_from" not in rows:  # already-parsed input carries readiness only
            rows["available_from"] = pd.NaT
        counts = rows["location"].value_counts()
        # Most listed first, ties by name.
        counts = counts.sort_index().sort_values(ascending=False, kind="stable")
        z = _latent(rows)
        level = pd.Series(z[:, 1]).groupby(rows["location"]).median()
        group_of = _group_of_location(counts, level)
        row_group = rows["location"].map(group_of).to_numpy(int)
        fallback = _regression(_design(rows), z)
        groups = []
        for number in range(int(group_of.max()) + 1):
            part = rows[row_group == number]
            design, part_z = _design(part), z[row_group == number]
            # Too few listings for their own fit (only when the whole data is small): the
            # city's regression, within the group's own ranges.
            fitted = (_regression(design, part_z)
                      if len(part) >= design.shape[1] + len(LATENT) + 2 else fallback)
            groups.append(_Group(
                area_type=part["area_type"].map(_source_area_type).to_numpy(object),
                bedrooms=part["bedrooms"].to_numpy(float),
                availability=np.array([_availability_text(r, a) for r, a in
                                       zip(part["ready_to_move"], part["available_from"],
                                           strict=True)], dtype=object),
                bath=part["bath"].to_numpy(float), balcony=part["balcony"].to_numpy(float),
                has_society=part["society"].notna().to_numpy(bool),
                design=design, coefficients=fitted[0], covariance=fitted[1],
                low=part_z.min(axis=0), high=part_z.max(axis=0)))
        names, owner, bounds, block = cls._societies(rows, counts.index, group_of)
        return cls(
            locations=counts.index.to_numpy(object),
            location_weights=counts.to_numpy(float) / counts.sum(),
            location_group=group_of[counts.index].to_numpy(int), groups=groups,
            society_names=names, society_owner=owner, society_bounds=bounds,
            society_block=block,
            min_sqft_per_bedroom=float(np.nanmin(rows["total_sqft"] / rows["bedrooms"])
                                       if rows["bedrooms"].notna().any() else 0.0))

    @staticmethod
    def _societies(rows: pd.DataFrame, locations: pd.Index, group_of: pd.Series
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Society names by block (each location's, then each group's), the block of each,
        their cumulative probabilities offset by the block, and each location's block."""
        named = rows[rows["society"].notna()]
        by_location = dict(iter(named.groupby("location")["society"]))
        by_group = dict(iter(named.groupby(named["location"].map(group_of))["society"]))
        none = pd.Series([], dtype=object)
        blocks = [by_location.get(location, none) for location in locations]
        blocks += [by_group.get(number, none) for number in range(int(group_of.max()) + 1)]
        block = np.array([at if location in by_location
                          else len(locations) + int(group_of[location])
                          for at, location in enumerate(locations)], dtype=int)
        names: list[object] = []
        owner: list[int] = []
        bounds: list[float] = []
        for number, societies in enumerate(blocks):
            mix = societies.value_counts().sort_index()
            names.extend(mix.index)
            owner.extend([number] * len(mix))
            bounds.extend(number + np.cumsum(mix.to_numpy(float)) / max(mix.sum(), 1))
        return (np.asarray(names, dtype=object), np.asarray(owner, dtype=int),
                np.asarray(bounds, float), block)

    def sample(self, rows: int, rng: np.random.Generator) -> pd.DataFrame:
        """`rows` synthetic listings in the source format (the columns of
        Bengaluru_House_Data.csv, in its order and text forms)."""
        location = rng.choice(len(self.locations), size=rows, p=self.location_weights)
        group = self.location_group[location]
        area_type = np.empty(rows, dtype=object)
        availability = np.empty(rows, dtype=object)
        bedrooms, bath, balcony = np.empty(rows), np.empty(rows), np.empty(rows)
        has_society = np.empty(rows, dtype=bool)
        z = np.empty((rows, len(LATENT)))
        for number in np.unique(group):
            at = np.flatnonzero(group == number)
            fitted = self.groups[number]
            kind = rng.integers(len(fitted.bedrooms), size=len(at))
            area_type[at], availability[at] = fitted.area_type[kind], fitted.availability[kind]
            bedrooms[at], bath[at] = fitted.bedrooms[kind], fitted.bath[kind]
            balcony[at], has_society[at] = fitted.balcony[kind], fitted.has_society[kind]
            noise = rng.multivariate_normal(np.zeros(len(LATENT)), fitted.covariance,
                                            size=len(at), method="cholesky")
            z[at] = np.clip(fitted.design[kind] @ fitted.coefficients + noise,
                            fitted.low, fitted.high)
        # At least the clean data's least area per bedroom, so the rows pass the rule it was
        # cleaned with (+1: a unit's two decimals may round the area down a little); baths
        # come with real kinds, so they pass the bath rule as they are.
        floor = np.where(np.isnan(bedrooms), 1.0,
                         np.ceil(np.nan_to_num(bedrooms) * self.min_sqft_per_bedroom) + 1)
        sqft = np.maximum(np.round(np.exp(z[:, 0])), floor)
        area, sqft = self._area_text(sqft, rng)
        price = np.maximum(np.round(np.exp(z[:, 1]) * sqft / 1e5, 2), 0.01)
        return pd.DataFrame({
            "area_type": area_type,
            "availability": availability,
            "location": self.locations[location],
            "size": self._size_text(bedrooms, area_type, rng),
            "society": np.where(has_society, self._society(location, rng), None),
            "total_sqft": area,
            "bath": bath,
            "balcony": balcony,
            "price": price,
        })

    def _society(self, location: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A society of each listing's location (by its share there), else of its group."""
        block = self.society_block[location]
        # 1 - u lies in (0, 1], so the draw lands within the block's bounds (b, b + 1].
        at = np.searchsorted(self.society_bounds, block + (1.0 - rng.random(len(block))))
        # A block with no societies (a group whose listings name none) leaves them missing.
        inside = np.minimum(at, len(self.society_owner) - 1)
        known = (at < len(self.society_owner)) & (self.society_owner[inside] == block)
        names = np.full(len(block), None, dtype=object)
        names[known] = self.society_names[at[known]]
        return names

    @staticmethod
    def _area_text(sqft: np.ndarray, rng: np.random.Generator
                   ) -> tuple[np.ndarray, np.ndarray]:
        """Areas as the source writes them (plain, a range around the area, or in square
        meters or yards), and the area each text parses to."""
        form = rng.random(len(sqft))
        half = np.floor(sqft * np.minimum(rng.exponential(RANGE_HALF_WIDTH, len(sqft)), 0.5))
        unit = rng.integers(len(UNITS), size=len(sqft))
        ranged = (form < RANGE_SHARE) & (half >= 1)
        in_unit = ~ranged & (form >= RANGE_SHARE) & (form < RANGE_SHARE + UNIT_SHARE)
        text = np.array([f"{area:.0f}" for area in sqft], dtype=object)
        # Ends symmetric around the area, so the midpoint the parser takes is the area.
        text[ranged] = [f"{area - width:.0f} - {area + width:.0f}"
                        for area, width in zip(sqft[ranged], half[ranged], strict=True)]
        factor = np.array([f for _, f in UNITS])[unit[in_unit]]
        value = np.round(sqft[in_unit] / factor, 2)
        text[in_unit] = [f"{v:.2f}".rstrip("0").rstrip(".") + UNITS[u][0]
                         for v, u in zip(value, unit[in_unit], strict=True)]
        parsed = sqft.copy()
        parsed[in_unit] = value * factor
        return text, parsed

    @staticmethod
    def _size_text(bedrooms: np.ndarray, area_type: np.ndarray, rng: np.random.Generator
                   ) -> np.ndarray:
        """"N BHK" or "N Bedroom" by area type, missing where the kind has no size."""
        share = np.array([BEDROOM_WORD_SHARE.get(" ".join(str(a).split()), 0.0)
                          for a in area_type])
        word = np.where(rng.random(len(bedrooms)) < share, "Bedroom", "BHK")
        return np.array([None if np.isnan(n) else f"{n:.0f} {w}"
                         for n, w in zip(bedrooms, word, strict=True)], dtype=object)
