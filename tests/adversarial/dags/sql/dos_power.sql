-- ATTACK (.sql file): 9 ** (9 ** 9), a number of 1.2 billion bits
SELECT {{ 9 ** (9 ** 9) }} AS x
