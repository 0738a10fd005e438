#!/usr/bin/python3
"""Writes tests/unit/jose_vectors.h: fixed JOSE test vectors.

The keys and JWS vectors are the published ones (RFC 7515 A.3, RFC 7520 §3 and §4.1/4.3/4.4,
RFC 8037 A, RFC 7638 §3.1, RFC 7518 Appendix C); the JWE vectors for custos' algorithms, which no
RFC covers with A256GCM, were produced once by python3-jwcrypto with those keys and are kept
fixed, so that the unit tests check decryption against another implementation without needing
Python. Run with /usr/bin/python3 (Debian's, with python3-jwcrypto):
    /usr/bin/python3 tests/interop/make_jose_vectors.py > tests/unit/jose_vectors.h
Re-running makes new JWE vectors (random IVs and CEKs); both old and new are valid.
"""
import json

from jwcrypto import jwe, jwk

RFC7515_A3_EC = {"kty": "EC", "crv": "P-256",
                 "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                 "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
                 "d": "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}
RFC7515_A3_JWS = ("eyJhbGciOiJFUzI1NiJ9."
                  "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
                  "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q")

RFC7520_EC_P521 = {
    "kty": "EC", "kid": "bilbo.baggins@hobbiton.example", "use": "sig", "crv": "P-521",
    "x": "AHKZLLOsCOzz5cY97ewNUajB957y-C-U88c3v13nmGZx6sYl_oJXu9A5RkTKqjqvjyekWF-7ytDyRXYgCF5cj0Kt",
    "y": "AdymlHvOiLxXkEhayXQnNCvDX4h9htZaCJN34kfmC6pV5OhQHiraVySsUdaQkAgDPrwQrJmbnX9cwlGfP-HqHZR1",
    "d": "AAhRON2r9cqXX1hg-RoI6R1tX5p2rUAYdmpHZoC1XNM56KtscrX6zbKipQrCW9CGZH3T4ubpnoTKLDYJ_fF3_rJt"}

RFC7520_RSA = {
    "kty": "RSA", "kid": "bilbo.baggins@hobbiton.example", "use": "sig",
    "n": "n4EPtAOCc9AlkeQHPzHStgAbgs7bTZLwUBZdR8_KuKPEHLd4rHVTeT-O-XV2jRojdNhxJWTDvNd7nqQ0VEiZQHz_AJmSCpMaJMRBSFKrKb2wqV"
         "wGU_NsYOYL-QtiWN2lbzcEe6XC0dApr5ydQLrHqkHHig3RBordaZ6Aj-oBHqFEHYpPe7Tpe-OfVfHd1E6cS6M1FZcD1NNLYD5lFHpPI9bTwJlsde"
         "3uhGqC0ZCuEHg8lhzwOHrtIQbS0FVbb9k3-tVTU4fg_3L_vniUFAKwuCLqKnS2BYwdq_mzSnbLY7h_qixoR7jig3__kRhuaxwUkRz5iaiQkqgc5g"
         "HdrNP5zw",
    "e": "AQAB",
    "d": "bWUC9B-EFRIo8kpGfh0ZuyGPvMNKvYWNtB_ikiH9k20eT-O1q_I78eiZkpXxXQ0UTEs2LsNRS-8uJbvQ-A1irkwMSMkK1J3XTGgdrhCku9gRld"
         "Y7sNA_AKZGh-Q661_42rINLRCe8W-nZ34ui_qOfkLnK9QWDDqpaIsA-bMwWWSDFu2MUBYwkHTMEzLYGqOe04noqeq1hExBTHBOBdkMXiuFhUq1BU"
         "6l-DqEiWxqg82sXt2h-LMnT3046AOYJoRioz75tSUQfGCshWTBnP5uDjd18kKhyv07lhfSJdrPdM5Plyl21hsFf4L_mHCuoFau7gdsPfHPxxjVOc"
         "OpBrQzwQ",
    "p": "3Slxg_DwTXJcb6095RoXygQCAZ5RnAvZlno1yhHtnUex_fp7AZ_9nRaO7HX_-SFfGQeutao2TDjDAWU4Vupk8rw9JR0AzZ0N2fvuIAmr_WCsmG"
         "peNqQnev1T7IyEsnh8UMt-n5CafhkikzhEsrmndH6LxOrvRJlsPp6Zv8bUq0k",
    "q": "uKE2dh-cTf6ERF4k4e_jy78GfPYUIaUyoSSJuBzp3Cubk3OCqs6grT8bR_cu0Dm1MZwWmtdqDyI95HrUeq3MP15vMMON8lHTeZu2lmKvwqW7an"
         "V5UzhM1iZ7z4yMkuUwFWoBvyY898EXvRD-hdqRxHlSqAZ192zB3pVFJ0s7pFc",
    "dp": "B8PVvXkvJrj2L-GYQ7v3y9r6Kw5g9SahXBwsWUzp19TVlgI-YV85q1NIb1rxQtD-IsXXR3-TanevuRPRt5OBOdiMGQp8pbt26gljYfKU_E9xn"
          "-RULHz0-ed9E9gXLKD4VGngpz-PfQ_q29pk5xWHoJp009Qf1HvChixRX59ehik",
    "dq": "CLDmDGduhylc9o7r84rEUVn7pzQ6PF83Y-iBZx5NT-TpnOZKF1pErAMVeKzFEl41DlHHqqBLSM0W1sOFbwTxYWZDm6sI6og5iTbwQGIC3gnJK"
          "bi_7k_vJgGHwHxgPaX2PnvP-zyEkDERuf-ry4c_Z11Cq9AqC2yeL6kdKT1cYF8",
    "qi": "3PiqvXQN0zwMeE-sBvZgi289XP9XCQF3VWqPzMKnIgQp7_Tugo6-NZBKCQsMf3HaEGBjTVJs_jcK8-TRXvaKe-7ZMaQj8VfBdYkssbu0NKDDh"
          "jJ-GtiseaDVWt7dcH0cfwxgFUHpQh7FoCrjFJ6h6ZEpMF6xmujs4qMpPz8aaI4"}

RFC7520_OCT_ENC = {"kty": "oct", "kid": "1e571774-2e08-40da-8308-e8d68773842d", "use": "enc",
                   "k": "AAPapAv4LbFbiVawEjagUBluYqN5rhna-8nuldDvOx8"}
RFC7520_HS256_KEY = {"kty": "oct", "k": "hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg"}

RFC7520_PAYLOAD_B64 = ("SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IH"
                       "lvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBk"
                       "b24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcm"
                       "UgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4")
RFC7520_4_1 = ("eyJhbGciOiJSUzI1NiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9." + RFC7520_PAYLOAD_B64 + "."
               "MRjdkly7_-oTPTS3AXP41iQIGKa80A0ZmTuV5MEaHoxnW2e5CZ5NlKtainoFmKZopdHM1O2U4mwzJdQx996ivp83xuglII7PNDi84w"
               "nB-BDkoBwA78185hX-Es4JIwmDLJK3lfWRa-XtL0RnltuYv746iYTh_qHRD68BNt1uSNCrUCTJDt5aAE6x8wW1Kt9eRo4QPocSadnHXFx"
               "nt8Is9UzpERV0ePPQdLuW3IS_de3xyIrDaLGdjluPxUAhb6L2aXic1U12podGU0KLUQSE_oI-ZnmKJ3F4uOZDnd6QZWJushZ41Axf_fc"
               "Ie8u9ipH84ogoree7vjbU5y18kDquDg")
RFC7520_4_3 = ("eyJhbGciOiJFUzUxMiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9." + RFC7520_PAYLOAD_B64 + "."
               "AE_R_YZCChjn4791jSQCrdPZCNYqHXCTZH0-JZGYNlaAjP2kqaluUIIUnC9qvbu9Plon7KRTzoNEuT4Va2cmL1eJAQy3mtPBu_u_sDDy"
               "YjnAMDxXPn7XrT0lw-kvAD890jl8e2puQens_IEKBpHABlsbEPX6sFY8OcGDqoRuBomu9xQ2")
RFC7520_4_4 = ("eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxOGMwYWU1LTRkOWItNDcxYi1iZmQ2LWVlZjMxNGJjNzAzNyJ9." + RFC7520_PAYLOAD_B64 +
               ".s0h6KThzkfBBBkLspW1h84VsJZFTsPPqMDA7g1Md7p0")

RFC8037_ED25519 = {"kty": "OKP", "crv": "Ed25519",
                   "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
                   "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
RFC8037_JWS = ("eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
               "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg")

PLAINTEXT = b"The true sign of intelligence is not knowledge but imagination."


def c_str(name, s):
    out = [f"static const char {name}[] ="]
    for i in range(0, len(s), 80):
        chunk = s[i:i + 80].replace("\\", "\\\\").replace('"', '\\"')
        out.append(f'\t"{chunk}"')
    return "\n".join(out) + ";\n"


def main():
    # Verify the published vectors with jwcrypto before writing them down.
    from jwcrypto import jws
    for key, tok in ((RFC7515_A3_EC, RFC7515_A3_JWS), (RFC7520_RSA, RFC7520_4_1),
                     (RFC7520_EC_P521, RFC7520_4_3), (RFC8037_ED25519, RFC8037_JWS),
                     (RFC7520_HS256_KEY, RFC7520_4_4)):
        jws.JWS().deserialize(tok, jwk.JWK(**key))

    p384 = jwk.JWK.generate(kty="EC", crv="P-384")
    keys = {
        "ECDH-ES+A256KW/P-256": RFC7515_A3_EC,
        "ECDH-ES+A256KW/P-384": json.loads(p384.export_private()),
        "ECDH-ES+A256KW/P-521": RFC7520_EC_P521,
        "RSA-OAEP-256": RFC7520_RSA,
        "RSA1_5": RFC7520_RSA,
        "dir": RFC7520_OCT_ENC,
    }
    print("/* Generated by tests/interop/make_jose_vectors.py; see there for where each comes from. */")
    print("#ifndef CS_TEST_JOSE_VECTORS_H\n#define CS_TEST_JOSE_VECTORS_H\n")
    print("/* clang-format off */\n")
    print(c_str("rfc7515_a3_jwk", json.dumps(RFC7515_A3_EC)))
    print(c_str("rfc7515_a3_jws", RFC7515_A3_JWS))
    print(c_str("rfc7520_p521_jwk", json.dumps(RFC7520_EC_P521)))
    print(c_str("rfc7520_rsa_jwk", json.dumps(RFC7520_RSA)))
    print(c_str("rfc7520_oct_enc_jwk", json.dumps(RFC7520_OCT_ENC)))
    print(c_str("rfc7520_payload_b64", RFC7520_PAYLOAD_B64))
    print(c_str("rfc7520_4_1_rs256", RFC7520_4_1))
    print(c_str("rfc7520_4_3_es512", RFC7520_4_3))
    print(c_str("rfc7520_4_4_hs256", RFC7520_4_4))
    print(c_str("rfc8037_ed25519_jwk", json.dumps(RFC8037_ED25519)))
    print(c_str("rfc8037_jws", RFC8037_JWS))
    print(c_str("p384_jwk", p384.export_private()))
    print(c_str("jwe_plaintext", PLAINTEXT.decode()))
    print("struct jwe_vector {\n\tconst char *alg;\n\tconst char *jwk;\n\tconst char *flat;\n"
          "\tconst char *compact;\n};\n")
    rows = []
    for name, kd in keys.items():
        alg = name.split("/")[0]
        kd = {k: v for k, v in kd.items() if k != "use"}  # the RFC 7520 keys say "sig"
        key = jwk.JWK(**kd)
        ser = {}
        for compact in (False, True):
            e = jwe.JWE(PLAINTEXT, json.dumps({"alg": alg, "enc": "A256GCM"}),
                        algs=[alg, "A256GCM"])
            e.add_recipient(key)
            ser[compact] = e.serialize(compact=compact)
            d = jwe.JWE(algs=[alg, "A256GCM"])
            d.deserialize(ser[compact], key)
            assert d.payload == PLAINTEXT
        rows.append((alg, json.dumps(kd), ser[False], ser[True]))
    print("static const struct jwe_vector jwe_vectors[] = {")
    for alg, k, flat, comp in rows:
        print("\t{")
        for v in (alg, k, flat, comp):
            esc = v.replace("\\", "\\\\").replace('"', '\\"')
            print(f'\t\t"{esc}",')
        print("\t},")
    print("};\n\n/* clang-format on */\n\n#endif")


if __name__ == "__main__":
    main()
