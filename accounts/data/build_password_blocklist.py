"""Build accounts/data/common-passphrases.txt.gz, the long-password half of the blocklist.

    .venv/bin/python accounts/data/build_password_blocklist.py

Why: Django's common-password list (Royce Williams' 20,000 most common, shipped with Django and also
loaded by the validator) has only ~46 entries of 15 characters or more, our minimum length. People meet a
long minimum in predictable ways, so this list holds those predictable long forms:

1. keyboard walks and digit sequences (qwertyuiopasdfgh, 1qaz2wsx3edc4rfv, 123456789012345, ...);
2. two of the most common passwords joined (monkeydragonmaster ...), the "combinator" attack of cracking tools;
3. well-known phrases and the phrase patterns seen in breach corpora (iloveyoumorethanlife,
   thisismypassword, correcthorsebatterystaple, ...).

The validator compares after normalisation (case, spaces and punctuation removed, digits/symbols around
the core stripped, repetitions collapsed), so padded forms ("Dragon dragon 2024!") need no entries here.
Entries are stored in that normalised form. Deterministic: the same Django version gives the same file.
"""
import gzip
from itertools import product
from pathlib import Path
import re

from django.contrib.auth.password_validation import CommonPasswordValidator

OUTPUT = Path(__file__).with_name("common-passphrases.txt.gz")
MIN_LENGTH = 15
TOP_COMMON_WORDS = 150  # combinator: the N most common alphabetic passwords, joined in pairs

WALKS = [
    "1234567890", "0987654321", "qwertyuiop", "asdfghjkl", "zxcvbnm", "poiuytrewq", "lkjhgfdsa", "mnbvcxz",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p", "q1w2e3r4t5y6u7i8o9p0", "1q2w3e4r5t6y7u8i9o0p", "qazwsxedcrfvtgbyhnujmikolp",
    "qwertyuiopasdfghjklzxcvbnm", "abcdefghijklmnopqrstuvwxyz", "zaq1xsw2cde3vfr4bgt5nhy6mju7", "1a2b3c4d5e6f7g8h9i",
    "qweasdzxcrtyfghvbnuiojklm", "123qweasdzxc456rtyfghvbn", "azertyuiopqsdfghjklmwxcvbn", "qwertzuiopasdfghjklyxcvbnm",
]
PHRASES = """
correct horse battery staple|the quick brown fox jumps over the lazy dog|to be or not to be|to be or not to be that is the question
may the force be with you|luke i am your father|i am your father|winter is coming|you shall not pass|one ring to rule them all
never gonna give you up|let it be|all you need is love|stairway to heaven|hakuna matata|carpe diem|live laugh love
just do it|trust no one|trust no1|the truth is out there|i want to believe|open sesame|abracadabra|hello world|hello there
supercalifragilisticexpialidocious|somewhere over the rainbow|twinkle twinkle little star|happy birthday|merry christmas
happy new year|to the moon and back|i love you to the moon and back|harry potter|hogwarts school of witchcraft|expecto patronum
game of thrones|the walking dead|star wars|the lord of the rings|lord of the rings|the godfather|back to the future
beam me up scotty|live long and prosper|i am groot|why so serious|with great power comes great responsibility
manchester united|manchester city|real madrid|barcelona fc|liverpool fc|chelsea fc|arsenal fc|juventus fc|bayern munchen
new york yankees|boston red sox|dallas cowboys|chicago bulls|los angeles lakers|green bay packers|pittsburgh steelers
new england patriots|golden state warriors|new york giants|new york city|san francisco|los angeles|united states of america
god is good|god is great|god is love|god bless america|god bless you|jesus is lord|jesus saves|jesus loves me|jesus christ
praise the lord|in god we trust|the lord is my shepherd|john three sixteen|for god so loved the world|amazing grace
no pain no gain|never give up|never say never|whatever it takes|keep calm and carry on|live and let die|carpe diem quam minimum credula postero
only god can judge me|all or nothing|once upon a time|happily ever after|the best is yet to come|life is good|life is beautiful
life is short|life goes on|this is my password|this is a password|this is my new password|my password is|my secret password
my new password|my first password|my password|new password|super secret password|very secret password|secret password
strong password|very strong password|secure password|very secure password|password is strong|password password
default password|temporary password|change me|change me now|change me please|change this password|please change me
let me in|let me in please|let me in now|open the door|knock knock|welcome to my world|welcome back|welcome home|welcome to the jungle
administrator|admin admin|root root|test test test|testing testing|guest guest|user user|qwerty qwerty|letmein letmein
i love you|i love you so much|i love you forever|i love you baby|i love you more|i love you more than anything
i love you with all my heart|i miss you|i miss you so much|i need you|i want you|you are my sunshine|you and me forever
you are my everything|you are the best|you are beautiful|forever and always|forever and ever|together forever|best friends forever
true love|true love forever|my one and only|my true love|love of my life|the love of my life|love you forever|love you always
"""
PEOPLE = ["mom", "mother", "dad", "father", "mum", "mummy", "daddy", "mommy", "family", "kids", "children", "son", "sons", "daughter", "daughters", "wife", "husband", "boyfriend", "girlfriend", "baby", "babies", "babygirl", "babyboy", "sister", "brother", "sisters", "brothers", "grandma", "grandpa", "grandmother", "grandfather", "nana", "papa", "friends", "friend", "bestfriend", "bff", "life", "god", "jesus", "lord", "jesuschrist", "country", "job", "work", "car", "cars", "house", "home", "dog", "dogs", "cat", "cats", "puppy", "kitty", "horse", "horses", "money", "music", "football", "soccer", "basketball", "baseball", "hockey", "tennis", "golf", "pizza", "chocolate", "computer", "games", "myself", "you", "him", "her", "them", "boo", "hubby", "wifey", "princess", "angel", "honey", "sweetie", "darling", "lover"]
LOVE_PREFIXES = ["i love", "i love my", "i love you", "i miss my", "i miss", "we love", "love my", "my", "my little",
                 "my beautiful", "my precious", "my sweet", "my dear", "my lovely", "for my"]
LOVE_SUFFIXES = ["forever", "so much", "very much", "always", "more than anything", "more than life", "to death",
                 "forever and ever", "with all my heart", "is the best", "is my life", "is my everything", "rules", "rocks"]


def normalise(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.casefold())


def walks() -> set[str]:
    found = set()
    for walk in WALKS:
        cyclic = walk * 3
        for length in range(MIN_LENGTH, 33):
            found.add(cyclic[:length])
        for start in range(len(walk)):
            found.add(cyclic[start:start + max(MIN_LENGTH, len(walk))])
    for digits in ("123456789", "987654321", "1234567890", "0123456789"):
        for length in range(MIN_LENGTH, 33):
            found.add((digits * 4)[:length])
    found.update(str(digit) * length for digit in range(10) for length in range(MIN_LENGTH, 25))
    return found


def common_word_pairs(common: list[str]) -> set[str]:
    words = [w for w in common if w.isalpha() and w.isascii() and len(w) >= 4][:TOP_COMMON_WORDS]
    return {a + b for a, b in product(words, repeat=2) if a != b and len(a + b) >= MIN_LENGTH}


def phrases() -> set[str]:
    found = {normalise(p) for p in PHRASES.replace("\n", "|").split("|") if p.strip()}
    found.update(normalise(f"{prefix} {who}") for prefix, who in product(LOVE_PREFIXES, PEOPLE))
    found.update(normalise(f"{prefix} {suffix}") for prefix, suffix in product(LOVE_PREFIXES[:3], LOVE_SUFFIXES))
    found.update(normalise(f"{who} {suffix}") for who, suffix in product(PEOPLE, LOVE_SUFFIXES))
    return found


def build() -> list[str]:
    with gzip.open(CommonPasswordValidator().DEFAULT_PASSWORD_LIST_PATH, "rt", encoding="utf-8") as f:
        common = [line.strip() for line in f if line.strip()]  # in order of frequency
    entries = walks() | common_word_pairs(common) | phrases()
    # Phrases shorter than the minimum stay: padded to length ("ilovemymom2024!!") they are still caught,
    # because the validator strips padding before comparing. Very short ones are left to Django's list.
    return sorted(e for e in entries if len(e) >= 10)


if __name__ == "__main__":
    entries = build()
    with gzip.GzipFile(OUTPUT, "wb", mtime=0) as raw:
        raw.write(("\n".join(entries) + "\n").encode("utf-8"))
    print(f"{len(entries)} entries ({sum(len(e) >= MIN_LENGTH for e in entries)} of {MIN_LENGTH}+ characters) -> {OUTPUT}")
