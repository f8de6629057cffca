"""Facts of the shipped seed data (geodata/) that several test modules check against."""

GATES = {"bab-el-kasbah", "bab-sedra", "bab-targhount", "bab-ouled-bounouna", "bab-el-khemis", "bab-zorgane",
         "bab-bizamaren", "bab-tafelagt", "bab-derb-laafou", "bab-lahjer", "bab-lblalia", "bab-benyara",
         "bab-agafay"}
# Everything inside (or, for the tanneries and Palais Salam, against) the walls.
MEDINA_SITES = GATES | {"ramparts", "kasbah", "grand-mosque", "place-assarag", "place-talmoqlate", "souk-arabe",
                        "souk-berbere", "tanneries", "palais-salam"}
MEDINA_BOX = (-8.90, 30.46, -8.86, 30.485)  # lon/lat box around the walls
BAB_EL_KHEMIS = (-8.8753605, 30.4786022)
