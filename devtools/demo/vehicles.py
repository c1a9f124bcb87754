"""Vehicles: the makes, models and trims on the lots and among the trade-ins, valid VINs, and
a store's inventory (new units of its brand, a used lot of any make) that leads ask about."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

# make -> (WMI prefixes, [(model, weight, [trims])])
CATALOG: dict[str, tuple[list[str], list[tuple[str, float, list[str]]]]] = {
    "Toyota": (
        ["JTD", "4T1", "5TD", "2T3", "JTM", "5TF", "JTE", "4T3"],
        [
            ("RAV4", 18, ["LE", "XLE", "XLE Premium", "Adventure", "Limited", "Hybrid XSE", "Hybrid Woodland"]),
            ("Camry", 15, ["LE", "SE", "XSE", "XLE", "Nightshade"]),
            ("Corolla", 12, ["LE", "SE", "XSE", "Hybrid LE", "Nightshade"]),
            ("Tacoma", 11, ["SR", "SR5", "TRD Sport", "TRD Off-Road", "Limited", "TRD Pro"]),
            ("Highlander", 9, ["LE", "XLE", "Limited", "Platinum", "Hybrid XLE"]),
            ("Tundra", 7, ["SR5", "Limited", "Platinum", "1794 Edition", "TRD Pro"]),
            ("Grand Highlander", 5, ["XLE", "Limited", "Platinum", "Hybrid MAX"]),
            ("Corolla Cross", 6, ["L", "LE", "XLE", "Hybrid S"]),
            ("4Runner", 5, ["SR5", "TRD Off-Road", "Limited", "TRD Pro"]),
            ("Sienna", 4, ["LE", "XLE", "Woodland", "Platinum"]),
            ("Prius", 3, ["LE", "XLE", "Limited"]),
            ("Sequoia", 2, ["SR5", "Limited", "Platinum", "Capstone"]),
            ("bZ4X", 1, ["XLE", "Limited"]),
            ("GR86", 1, ["Base", "Premium"]),
        ],
    ),
    "Honda": (
        ["1HG", "2HG", "5J6", "19X", "2HK", "5FN", "7FA"],
        [
            ("CR-V", 18, ["LX", "EX", "EX-L", "Sport Hybrid", "Sport-L Hybrid"]),
            ("Civic", 15, ["LX", "Sport", "EX", "Touring", "Si", "Type R"]),
            ("Accord", 12, ["LX", "SE", "Sport Hybrid", "EX-L Hybrid", "Touring Hybrid"]),
            ("HR-V", 9, ["LX", "Sport", "EX-L"]),
            ("Pilot", 8, ["Sport", "EX-L", "TrailSport", "Touring", "Elite"]),
            ("Odyssey", 5, ["EX", "EX-L", "Sport", "Touring", "Elite"]),
            ("Passport", 4, ["RTL", "TrailSport", "Black Edition"]),
            ("Ridgeline", 4, ["Sport", "RTL", "TrailSport", "Black Edition"]),
            ("Prologue", 1, ["EX", "Touring", "Elite"]),
        ],
    ),
    "Ford": (
        ["1FA", "1FT", "1FM", "3FM", "3FT"],
        [
            ("F-150", 20, ["XL", "XLT", "Lariat", "King Ranch", "Platinum", "Tremor", "Raptor"]),
            ("Escape", 10, ["Active", "ST-Line", "Platinum", "Plug-In Hybrid"]),
            ("Explorer", 10, ["Active", "ST-Line", "Platinum", "ST"]),
            ("Bronco", 8, ["Big Bend", "Black Diamond", "Outer Banks", "Badlands", "Wildtrak"]),
            ("Bronco Sport", 7, ["Big Bend", "Outer Banks", "Badlands"]),
            ("Maverick", 8, ["XL", "XLT", "Lariat", "Tremor"]),
            ("Ranger", 5, ["XL", "XLT", "Lariat", "Raptor"]),
            ("Super Duty F-250", 5, ["XL", "XLT", "Lariat", "King Ranch"]),
            ("Mustang", 4, ["EcoBoost", "EcoBoost Premium", "GT", "Dark Horse"]),
            ("Expedition", 4, ["Active", "Platinum", "King Ranch", "Tremor"]),
            ("Mustang Mach-E", 2, ["Select", "Premium", "GT"]),
        ],
    ),
    "Chevrolet": (
        ["1G1", "1GC", "1GN", "3GN", "KL7", "KL4"],
        [
            ("Silverado 1500", 20, ["WT", "Custom", "LT", "RST", "LTZ", "High Country", "ZR2"]),
            ("Equinox", 12, ["LT", "RS", "ACTIV"]),
            ("Trax", 10, ["LS", "1RS", "LT", "ACTIV", "2RS"]),
            ("Traverse", 8, ["LT", "Z71", "RS", "High Country"]),
            ("Tahoe", 7, ["LS", "LT", "RST", "Z71", "Premier", "High Country"]),
            ("Colorado", 6, ["WT", "LT", "Trail Boss", "Z71", "ZR2"]),
            ("Trailblazer", 6, ["LS", "LT", "ACTIV", "RS"]),
            ("Blazer", 4, ["2LT", "3LT", "RS", "Premier"]),
            ("Suburban", 4, ["LS", "LT", "RST", "Premier"]),
            ("Equinox EV", 2, ["LT", "RS"]),
        ],
    ),
    "Nissan": (
        ["1N4", "JN8", "5N1", "1N6", "3N1", "3N8"],
        [
            ("Rogue", 20, ["S", "SV", "SL", "Platinum", "Rock Creek"]),
            ("Altima", 12, ["S", "SV", "SR", "SL"]),
            ("Sentra", 12, ["S", "SV", "SR"]),
            ("Kicks", 9, ["S", "SV", "SR"]),
            ("Pathfinder", 8, ["S", "SV", "SL", "Rock Creek", "Platinum"]),
            ("Frontier", 8, ["S", "SV", "PRO-4X", "PRO-X"]),
            ("Murano", 4, ["SV", "SL", "Platinum"]),
            ("Armada", 3, ["SV", "SL", "Platinum"]),
        ],
    ),
    "Hyundai": (
        ["5NP", "KM8", "5NM", "KMH"],
        [
            ("Tucson", 18, ["SE", "SEL", "N Line", "XRT", "Limited", "Hybrid Blue"]),
            ("Elantra", 14, ["SE", "SEL", "N Line", "Limited", "Hybrid Blue"]),
            ("Santa Fe", 12, ["SE", "SEL", "XRT", "Limited", "Calligraphy"]),
            ("Palisade", 8, ["SE", "SEL", "XRT", "Limited", "Calligraphy"]),
            ("Kona", 8, ["SE", "SEL", "N Line", "Limited"]),
            ("Sonata", 6, ["SEL", "N Line", "Limited", "Hybrid SEL"]),
            ("Santa Cruz", 3, ["SE", "SEL", "XRT", "Limited"]),
            ("Ioniq 5", 3, ["SE", "SEL", "Limited", "XRT"]),
        ],
    ),
}
# Used-only makes that show up on the used lot and as trade-ins.
USED_ONLY: dict[str, tuple[list[str], list[tuple[str, float, list[str]]]]] = {
    "Kia": (["5XY", "KNA", "KND"], [("Sorento", 5, ["LX", "S", "EX"]), ("Sportage", 5, ["LX", "EX"]),
                                    ("Telluride", 3, ["S", "EX", "SX"]), ("Forte", 3, ["LXS", "GT-Line"])]),
    "Subaru": (["4S4", "JF2", "4S3"], [("Outback", 5, ["Premium", "Limited", "Onyx XT"]),
                                       ("Forester", 5, ["Base", "Premium", "Sport"]),
                                       ("Crosstrek", 4, ["Premium", "Sport", "Limited"])]),
    "Jeep": (["1C4"], [("Grand Cherokee", 6, ["Laredo", "Limited", "Overland"]),
                       ("Wrangler", 5, ["Sport", "Sahara", "Rubicon"]), ("Compass", 3, ["Latitude", "Limited"])]),
    "Ram": (["1C6", "3C6"], [("1500", 6, ["Tradesman", "Big Horn", "Laramie", "Rebel"])]),
    "Mazda": (["JM3", "JM1"], [("CX-5", 5, ["Select", "Preferred", "Carbon Edition"]),
                               ("Mazda3", 3, ["Select", "Preferred"]), ("CX-30", 3, ["Select", "Premium"])]),
    "Volkswagen": (["3VW", "1V2", "3VV"], [("Jetta", 3, ["S", "SE", "SEL"]), ("Tiguan", 3, ["S", "SE"]),
                                           ("Atlas", 2, ["SE", "SEL"])]),
    "BMW": (["WBA", "5UX"], [("X3", 3, ["sDrive30i", "xDrive30i"]), ("3 Series", 2, ["330i", "330i xDrive"]),
                             ("X5", 2, ["xDrive40i"])]),
    "Mercedes-Benz": (["W1K", "4JG"], [("C-Class", 2, ["C 300"]), ("GLC", 2, ["GLC 300 4MATIC"])]),
    "Lexus": (["2T2", "JTH"], [("RX 350", 3, ["Base", "Premium"]), ("ES 350", 2, ["Base", "F Sport"]),
                               ("NX 350", 2, ["Premium", "F Sport"])]),
    "GMC": (["1GT", "3GT"], [("Sierra 1500", 4, ["SLE", "Elevation", "AT4"]), ("Acadia", 2, ["SLE", "SLT"]),
                             ("Terrain", 2, ["SLE", "SLT"])]),
    "Tesla": (["5YJ", "7SA"], [("Model 3", 3, ["Long Range", "Standard Range Plus"]), ("Model Y", 3, ["Long Range"])]),
    "Dodge": (["2C3", "1C4"], [("Charger", 2, ["SXT", "R/T"]), ("Durango", 2, ["SXT", "GT", "R/T"])]),
}
ALL_MAKES = {**CATALOG, **USED_ONLY}
COLORS = ["Black", "White", "Silver", "Gray", "Blue", "Red", "Pearl White", "Midnight Blue", "Army Green"]

VIN_TRANSLIT = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7, "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
VIN_WEIGHTS = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2]
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
VIN_YEAR_CODES = "ABCDEFGHJKLMNPRSTVWXY123456789"  # 2010 = A ... 2030 = Y, then 2031 = 1


def vin(rng: random.Random, make: str, year: int) -> str:
    """A VIN with a real WMI of the make, the model-year code and a valid check digit."""
    wmi = rng.choice(ALL_MAKES[make][0])
    chars = [*wmi, *(rng.choice(VIN_CHARS) for _ in range(5)), "0"]
    year_code = VIN_YEAR_CODES[(year - 2010) % 30] if year >= 2010 else str(year - 2000)
    chars += [year_code, rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ0123456789")]
    chars += [str(rng.randrange(10)) for _ in range(6)]
    total = sum(VIN_TRANSLIT[c] * w for c, w in zip(chars, VIN_WEIGHTS, strict=True))
    check = total % 11
    chars[8] = "X" if check == 10 else str(check)
    return "".join(chars)


def weighted(rng: random.Random, items: list[tuple[str, float, list[str]]]) -> tuple[str, float, list[str]]:
    return rng.choices(items, weights=[w for _, w, _ in items])[0]


@dataclass(frozen=True)
class Vehicle:
    interest: str
    condition: str
    year: int
    make: str
    model: str
    trim: str
    stock: str
    vin: str
    odometer: int | None
    color: str

    @property
    def label(self) -> str:
        return f"{self.year} {self.make} {self.model} {self.trim}".strip()


class Inventory:
    """One store's lots (160 new units of its brand, 130 used of any make) and the vehicles its
    leads ask about or bring as trade-ins."""

    def __init__(self, rng: random.Random, brand: str, now_year: int):
        self.rng = rng
        self.brand = brand
        self.now_year = now_year
        make_models = CATALOG[brand][1]
        self.new_units: list[Vehicle] = []
        prefix = brand[0]
        for _ in range(160):
            model, _, trims = weighted(rng, make_models)
            year = now_year + (1 if rng.random() < 0.45 else 0)
            self.new_units.append(Vehicle("buy", "new", year, brand, model, rng.choice(trims),
                                          f"{prefix}{rng.randrange(10000, 99999)}", vin(rng, brand, year),
                                          rng.randrange(3, 40), rng.choice(COLORS)))
        self.used_units: list[Vehicle] = []
        for _ in range(130):
            self.used_units.append(self.used_vehicle("buy", f"U{rng.randrange(10000, 99999)}"))

    def used_vehicle(self, interest: str, stock: str, with_vin: bool = True) -> Vehicle:
        """A used car: on the lot ("buy", with a stock number) or a customer's trade-in."""
        rng = self.rng
        make = self.brand if rng.random() < 0.45 else rng.choice(list(ALL_MAKES))
        model, _, trims = weighted(rng, ALL_MAKES[make][1])
        age = min(int(rng.expovariate(1 / 4.0)) + 1, 15)
        year = self.now_year - age
        odometer = int(max(age * rng.gauss(12_500, 3_500), 3_000)) // 10 * 10
        return Vehicle(interest, "used", year, make, model, rng.choice(trims), stock,
                       vin(rng, make, year) if with_vin else "", odometer, rng.choice(COLORS))

    def vehicle_for(self, kind: str, provider: str) -> Vehicle:
        """What a lead of this source asks about: a new unit (or just a model), maybe to lease,
        or a car on the used lot."""
        rng = self.rng
        p_new = {"oem": 1.0, "dealer_website": 0.55, "chat": 0.5, "phone_up": 0.5, "walk_in": 0.5}.get(kind, 0.3)
        if provider == "TrueCar":
            p_new = 0.8
        if rng.random() < p_new:
            unit = rng.choice(self.new_units)
            if kind in ("oem", "walk_in") and rng.random() < 0.5:
                # Model-level interest: no particular unit on the lot.
                unit = replace(unit, trim=unit.trim if rng.random() < 0.6 else "", stock="", vin="", odometer=None)
            if rng.random() < 0.12:
                unit = replace(unit, interest="lease")
            return unit
        return rng.choice(self.used_units)
