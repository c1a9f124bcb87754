"""Reference data for people and places: customer and staff names, email domains, the regions
stores are in (time zone, area codes for staff and customers, towns) and the group and brand
names of the benchmark data set."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import phonenumbers

FIRST_NAMES = (
    "Maria James Jose Jennifer Michael Linda David Patricia Robert Elizabeth John Susan Carlos "
    "Jessica Daniel Sarah Luis Karen Anthony Nancy Kevin Lisa Brian Ashley Jason Emily Matthew "
    "Michelle Juan Amanda Christopher Melissa Andrew Stephanie Joshua Rebecca Ryan Laura Brandon "
    "Nicole Tyler Angela Eric Rachel Marcus Samantha Terrence Keisha Andre Tamika DeShawn Latoya "
    "Wei Mei Raj Priya Anil Sunita Hiroshi Yuki Minh Linh Omar Fatima Ahmed Aisha Dmitri Olga "
    "Tomasz Agnieszka Patrick Colleen Sean Bridget Diego Gabriela Alejandro Sofia Miguel Valeria "
    "Javier Lucia Francisco Rosa Antonio Carmen Jamal Imani Darnell Jasmine Trevor Megan Cody "
    "Brittany Kyle Heather Derek Amber Nathan Courtney Zachary Kayla Ethan Olivia Noah Emma Liam "
    "Ava Mason Isabella Lucas Mia Logan Harper Caleb Abigail Gregory Donna Frank Deborah Raymond "
    "Sharon Gary Cynthia Dennis Kathleen Walter Janet Roger Carol Keith Diane Vincent Theresa "
    "Grace Hannah Owen Chloe Bobby Chris Derrick Doug Susan Jared Matt Ron Evan Joe"
).split()
LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris "
    "Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill "
    "Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips "
    "Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers "
    "Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson "
    "Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo "
    "Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell "
    "Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson "
    "Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera "
    "Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernandez "
    "McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns "
    "Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt "
    "Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer "
    "Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne Grant "
    "Dunn Kowalski Nowak O'Brien Schultz Yamamoto Wang Zhang Singh Shah Kaur Ali Khan Ivanov "
    "Novak Lindqvist Okafor Mensah"
).split()
EMAIL_DOMAINS = ["example.com", "example.net", "example.org"]


@cache
def us_area_codes() -> tuple[int, ...]:
    """US area codes where libphonenumber accepts NPA-555-XXXX as a valid number."""
    codes = []
    for npa in range(201, 990):
        number = phonenumbers.parse(f"+1{npa}5550100")
        if phonenumbers.is_valid_number(number) and phonenumbers.region_code_for_number(number) == "US":
            codes.append(npa)
    return tuple(codes)


@dataclass(frozen=True)
class Region:
    city_names: tuple[str, ...]
    time_zone: str
    staff_codes: tuple[int, int]  # desk line, cell phones
    customer_codes: tuple[int, ...]


REGIONS = [
    Region(("Oak Brook", "Naperville", "Schaumburg", "Joliet", "Lakeside"), "America/Chicago", (312, 872),
           (773, 630, 847, 708, 815, 331, 224, 779, 312, 872)),
    Region(("Plano", "Arlington", "Frisco", "Mesquite", "Denton"), "America/Chicago", (214, 469),
           (972, 817, 682, 940, 903, 430, 214, 469)),
    Region(("Marietta", "Decatur", "Alpharetta", "Peachtree", "Kennesaw"), "America/New_York", (404, 678),
           (770, 470, 706, 762, 404, 678)),
    Region(("Westerville", "Dublin", "Parma", "Mason", "Dayton"), "America/New_York", (614, 216),
           (380, 440, 513, 937, 330, 234, 419, 567)),
    Region(("Aurora", "Lakewood", "Littleton", "Boulder", "Longmont"), "America/Denver", (303, 720),
           (719, 970, 303, 720)),
    Region(("Mesa", "Chandler", "Tempe", "Peoria", "Gilbert"), "America/Phoenix", (602, 480),
           (623, 520, 928, 602, 480)),
    Region(("Bellevue", "Renton", "Everett", "Tacoma", "Kent"), "America/Los_Angeles", (206, 425),
           (253, 360, 564, 509, 206, 425)),
    Region(("Roseville", "Elk Grove", "Folsom", "Davis", "Stockton"), "America/Los_Angeles", (916, 279),
           (530, 209, 707, 916, 279)),
    Region(("Cary", "Raleigh", "Durham", "Concord", "Gastonia"), "America/New_York", (919, 984),
           (704, 980, 336, 743, 252, 910)),
    Region(("Franklin", "Murfreesboro", "Brentwood", "Hendersonville", "Smyrna"), "America/Chicago", (615, 629),
           (931, 901, 731, 423, 865)),
]
GROUP_NAMES = [
    "Prairie Auto Group", "Summit Motor Group", "Heartland Automotive", "Blue Ridge Auto Group",
    "Pacific Crest Motors", "Great Lakes Auto Group", "Lone Star Motor Group", "Red Rock Automotive",
    "Cascade Auto Group", "Magnolia Motor Group",
]
STORE_BRANDS = ["Toyota", "Honda", "Ford", "Chevrolet", "Nissan", "Hyundai"]
