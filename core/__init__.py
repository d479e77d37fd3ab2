"""The ground floor shared by every layer: errors, time, money, phones, admin helpers.

It imports no app of the project, so every app may import it.
"""
