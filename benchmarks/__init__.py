"""National-scale benchmarks: read cost per match, AWS calls and cost per referral, cold start (`make bench`).

Local-only code: it imports moto and never ships to Lambda.
"""
