#!/usr/bin/python3
"""Makes django_hashes.json: password hashes computed by Django's own hashers.

Run once with Debian's Django (apt-get install python3-django python3-argon2
python3-bcrypt; /usr/bin/python3 django_hashes.py > django_hashes.json). The
output is committed with the plaintexts, so the Go tests need no Python.
"""
import json

from django.conf import settings

settings.configure(PASSWORD_HASHERS=[
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.BCryptPasswordHasher",
])

import django  # noqa: E402

django.setup()

from django.contrib.auth.hashers import (  # noqa: E402
    Argon2PasswordHasher, BCryptPasswordHasher, BCryptSHA256PasswordHasher,
    PBKDF2PasswordHasher, PBKDF2SHA1PasswordHasher, check_password, make_password)


class FastPBKDF2(PBKDF2PasswordHasher):
    iterations = 1000


class FastPBKDF2SHA1(PBKDF2SHA1PasswordHasher):
    iterations = 1000


class FastArgon2(Argon2PasswordHasher):
    memory_cost = 512
    time_cost = 2
    parallelism = 2


class FastBCryptSHA256(BCryptSHA256PasswordHasher):
    rounds = 4


class FastBCrypt(BCryptPasswordHasher):
    rounds = 4


passwords = ["renran-Django-1", "中文密码很安全", "p@ss word with spaces", "e\u0301toile-longer-password"]
out = []
for hasher in [PBKDF2PasswordHasher(), PBKDF2SHA1PasswordHasher(), Argon2PasswordHasher(),
               BCryptSHA256PasswordHasher(), FastPBKDF2(), FastPBKDF2SHA1(), FastArgon2(),
               FastBCryptSHA256(), FastBCrypt()]:
    for pw in passwords:
        encoded = hasher.encode(pw, hasher.salt())
        assert check_password(pw, encoded)
        out.append({"algorithm": hasher.algorithm, "password": pw, "encoded": encoded,
                    "django": django.get_version()})
# A long password through plain bcrypt: Django's bcrypt library cuts it at 72 bytes.
long_pw = "x" * 80
out.append({"algorithm": "bcrypt", "password": long_pw,
            "encoded": FastBCrypt().encode(long_pw, FastBCrypt().salt()), "django": django.get_version()})
out.append({"algorithm": "unusable", "password": "", "encoded": make_password(None), "django": django.get_version()})
print(json.dumps(out, ensure_ascii=False, indent=1))
