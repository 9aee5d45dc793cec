"""The small interfaces the services need, grouped by what they are about. Adapters implement them over AWS; tests
implement them in memory.

common     the clock (and a timer), signing keys, the send queue
agents     agents' records, the available-now index, the sweep's queue and cursor, agents' loads (capacity)
referrals  the referrals' store and the start of their workflow (the intake's)
workflow   the referral workflow's state and moves, its callbacks and reminders
links      the public site, signed and short links
reports    what the administrator's reports read"""
