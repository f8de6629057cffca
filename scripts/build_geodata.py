#!/usr/bin/env python3
"""Build geodata/sites.geojson from the research CSV (taroudant-sites.csv).

Usage:
    python3 scripts/build_geodata.py PATH/TO/taroudant-sites.csv [OUTPUT]

OUTPUT defaults to geodata/sites.geojson next to this script's parent folder.

The CSV gives one row per place with names, coordinates, a coordinate
confidence, a period, an English description and its sources. Everything the
CSV does not say, or that we decided differently, is in the DECISIONS table
below, one entry per CSV row, so that each choice can be read and reviewed:
slug, category mapping, geometry overrides, protection, condition, threats,
visiting information and the French translation of the description.

Standard library only. The controlled vocabularies are read from
heritage_map/vocab.py (itself stdlib only) so the output is checked against
the same lists the application uses.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from heritage_map.catalogue import vocab  # noqa: E402
from heritage_map.catalogue.geometry import MOROCCO_BOUNDS  # noqa: E402

# --------------------------------------------------------------------------
# General rules
# --------------------------------------------------------------------------

# Rows that are not sites. TAR-000 is the town's reference point (a centroid
# used for distances in the notes), not a heritage or environmental site.
SKIP = {"TAR-000": "town reference point, not a site"}

# CSV subcategory -> vocab category slug. Subcategories not listed here are
# already vocab slugs (rampart, gate, kasbah, mosque, square, souk, palace,
# craft_site, palm_grove, river).
CATEGORY_MAP = {
    "museum_palace": "museum",
    "river_mouth": "river",
    "river_source": "river",
    "biosphere_reserve": "protected_area",
    "national_park": "protected_area",
    "mountain_pass": "mountain",
    "summit": "mountain",
}

# The medina of Taroudant is "classée Patrimoine National depuis les années
# 1930" (explore-agadirsoussmassa.com). No exact date or decree was found, so
# protection_date stays null. Applied to the walls, the gates and the sites
# inside the walls.
MEDINA_CLASSIFIED = {
    "protection_status": "classified",
    "protection_ref": "Medina classified as national heritage since the 1930s",
    "protection_date": None,
}

# The 8 September 2023 Al Haouz earthquake and the ADHA restoration
# (agadirtoday.com; magactuevents.com) name the walls and three gates.
EARTHQUAKE_2023 = (
    "Affected by the 8 September 2023 Al Haouz earthquake; under restoration by the "
    "Agence de développement du Haut Atlas (ADHA), a 40 MDH programme covering the walls "
    "and Bab El Khemis, Bab Ouled Bounouna and Bab Zorgane."
)

# --------------------------------------------------------------------------
# Geometry overrides (WGS 84, [lon, lat])
# --------------------------------------------------------------------------

# TAR-001: ESTIMATED gate-to-gate chord outline of the walls, copied vertex for
# vertex from taroudant-geodata.md §3.1 (Bab Benyara, Zorgane, Lblalia,
# El Kasbah, Lahjer, Derb Laafou, El Khemis, Tafelagt, Bizamaren,
# Ouled Bounouna, Targhount, back to Benyara). A wall is a line, so this is a
# closed LineString, not a Polygon.
RAMPARTS_OUTLINE = [
    [-8.8784939, 30.4651867],
    [-8.8763365, 30.4651157],
    [-8.8727498, 30.4692058],
    [-8.8741711, 30.4719188],
    [-8.8730579, 30.4751103],
    [-8.8735395, 30.4765235],
    [-8.8753605, 30.4786022],
    [-8.8777209, 30.4796025],
    [-8.8827515, 30.4777844],
    [-8.8879254, 30.4771631],
    [-8.8945699, 30.4685595],
    [-8.8784939, 30.4651867],
]

# ENV-001: schematic, ESTIMATED line for the Souss bed about 2 km south of the
# town ("Taroudant lies about 2 km north of the riverbed", de.wikipedia),
# drawn west -> east across the town's longitude (-8.88). Not a survey.
SOUSS_NEAR_TAROUDANT = [
    [-8.96, 30.447],
    [-8.92, 30.4495],
    [-8.88, 30.452],
    [-8.84, 30.454],
    [-8.80, 30.456],
]

# --------------------------------------------------------------------------
# Per-row decisions, keyed by CSV id.
#
# Keys:
#   slug            unique kebab-case identifier (required)
#   description_fr  French translation of the (possibly tidied) description (required)
#   description_en  replaces the CSV description when the wording was tidied or
#                   the geometry changed; every fact and caveat is kept
#   protection      dict with protection_status/_ref/_date (default: unknown)
#   condition       vocab.CONDITIONS value (default: "unknown")
#   threats, visiting_info, name_zgh   short sourced text (default: None)
#   geometry        GeoJSON geometry replacing the CSV point
#   confidence      replaces the CSV coord_confidence
# --------------------------------------------------------------------------

DECISIONS: dict[str, dict] = {
    "TAR-001": {
        "slug": "ramparts",
        "protection": MEDINA_CLASSIFIED,
        "threats": EARTHQUAKE_2023,
        "geometry": {"type": "LineString", "coordinates": RAMPARTS_OUTLINE},
        "confidence": "estimated",
        # The CSV point (mean of the gate points) is replaced by the outline.
        "description_en": (
            "Walls of rammed earth (pisé/tabiya) with lime, about 7.5 km long (6-8 km depending "
            "on the source), with 130 towers, 19 corner bastions and 5 historic bent-entrance "
            "gates. The line is an ESTIMATED gate-to-gate chord outline, not a survey: straight "
            "segments joining 11 gate points from a public GitHub dataset "
            "(itsAimad/Taroudant-Heritage-Monitoring), closed on itself. The real wall bulges "
            "outward with its bastions, and the south-west side between Bab Benyara and Bab "
            "Targhount has no gate point. The outline encloses about 221 ha (ADHA reports 225 ha)."
        ),
        "description_fr": (
            "Murailles en terre damée (pisé/tabiya) à la chaux, longues d'environ 7,5 km (6 à 8 km "
            "selon les sources), avec 130 tours, 19 bastions d'angle et 5 portes historiques à "
            "entrée coudée. La ligne est un tracé ESTIMÉ en cordes de porte à porte, et non un "
            "relevé : des segments droits reliant 11 points de portes issus d'un jeu de données "
            "GitHub public (itsAimad/Taroudant-Heritage-Monitoring), refermés sur eux-mêmes. Le "
            "vrai rempart est bombé vers l'extérieur par ses bastions, et le côté sud-ouest, entre "
            "Bab Benyara et Bab Targhount, n'a aucun point de porte. Le tracé enclôt environ 221 ha "
            "(l'ADHA indique 225 ha)."
        ),
    },
    "TAR-002": {
        "slug": "bab-el-kasbah",
        "protection": MEDINA_CLASSIFIED,
        # The CSV said "about 50-100 m" for the Bab Selsla point; computed from the
        # two coordinates it is about 25 m.
        "description_en": (
            "Main gate, with a triple arch, giving onto the Kasbah quarter on the east side of the "
            "medina. N. Sadiq calls it 'Bab Silsila (l'actuel Bab El Kasbah)', the sultans' "
            "entrance. The GitHub dataset also has a separate 'Bab Selsla' point about 25 m away "
            "(30.4720004, -8.8739327). Other versions of the same dataset differ by about 80 m "
            "(30.4723934, -8.8748103)."
        ),
        "description_fr": (
            "Porte principale, à triple arc, donnant sur le quartier de la Kasbah, à l'est de la "
            "médina. N. Sadiq la nomme « Bab Silsila (l'actuel Bab El Kasbah) », l'entrée des "
            "sultans. Le jeu de données GitHub contient aussi un point « Bab Selsla » distinct, à "
            "environ 25 m (30.4720004, -8.8739327). D'autres versions du même jeu de données "
            "diffèrent d'environ 80 m (30.4723934, -8.8748103)."
        ),
    },
    "TAR-003": {
        "slug": "bab-sedra",
        "protection": MEDINA_CLASSIFIED,
        "description_en": (
            "Separate gate into the Kasbah quarter ('Bab El-Jedid ou Bab Sedra', a series of "
            "successive gates that form a barbican). It is a Kasbah gate, not one of the 5 "
            "historic outer gates."
        ),
        "description_fr": (
            "Porte distincte donnant accès au quartier de la Kasbah (« Bab El-Jedid ou Bab Sedra », "
            "une suite de portes successives formant une barbacane). C'est une porte de la Kasbah, "
            "et non l'une des 5 portes extérieures historiques."
        ),
    },
    "TAR-004": {
        "slug": "bab-targhount",
        "protection": MEDINA_CLASSIFIED,
        "description_fr": (
            "L'une des 5 portes historiques, à l'extrémité ouest de la médina. Les tanneries se "
            "trouvent juste à l'extérieur. Nom historique : Bab El-Ghazw (Sadiq). Une seule version "
            "du jeu de données GitHub donne ce point."
        ),
    },
    "TAR-005": {
        "slug": "bab-ouled-bounouna",
        "protection": MEDINA_CLASSIFIED,
        "threats": EARTHQUAKE_2023,
        # Rejected value given with full precision from the notes (§1.1).
        "description_en": (
            "One of the 5 historic gates, in the north-west. Included in the restoration programme "
            "launched by the ADHA after the 2023 earthquake. The SQL version of the dataset puts it "
            "at 30.4727126, -8.8751742, practically a copy of Bab Sedra's value; it was rejected."
        ),
        "description_fr": (
            "L'une des 5 portes historiques, au nord-ouest. Incluse dans le programme de "
            "restauration lancé par l'ADHA après le séisme de 2023. La version SQL du jeu de "
            "données la place en 30.4727126, -8.8751742, valeur presque identique à celle de Bab "
            "Sedra ; elle a été rejetée."
        ),
    },
    "TAR-006": {
        "slug": "bab-el-khemis",
        "protection": MEDINA_CLASSIFIED,
        "threats": EARTHQUAKE_2023,
        "visiting_info": "Taxis for the Claudio Bravo palace-museum leave from this gate.",
        "description_fr": (
            "Porte nord-est, nommée d'après le marché du jeudi (Souk El Khemis) qui se tient à "
            "l'extérieur. Les taxis pour le palais Claudio Bravo partent d'ici. Incluse dans la "
            "restauration de l'ADHA (40 MDH). Les versions du jeu de données concordent à environ "
            "60 à 95 m près."
        ),
    },
    "TAR-007": {
        "slug": "bab-zorgane",
        "protection": MEDINA_CLASSIFIED,
        "threats": EARTHQUAKE_2023,
        "description_fr": (
            "L'une des 5 portes historiques, au sud. La Grande Mosquée se trouve entre les routes "
            "menant à Bab Zorgane et à Bab El Kasbah. Les versions du jeu de données SONT EN "
            "CONFLIT : la maquette TS donne 30.4662591, -8.8788773, à 275 m de là et près de "
            "« Bab Benyara ». Incluse dans la restauration de l'ADHA."
        ),
    },
    "TAR-008": {
        "slug": "bab-bizamaren",
        "protection": MEDINA_CLASSIFIED,
        "description_fr": (
            "Porte nord-ouest vers le quartier Bouizmaren (nom administratif Hay Hassani ; le nom "
            "tachelhit évoque les béliers). Ce n'est pas l'une des 5 portes historiques. Les "
            "versions concordent à environ 150 m près."
        ),
    },
    "TAR-009": {
        "slug": "bab-tafelagt",
        "protection": MEDINA_CLASSIFIED,
        "description_fr": (
            "Porte nord (le point de porte le plus septentrional du jeu de données). Ce n'est pas "
            "l'une des 5 portes historiques. Aucune description indépendante n'a été trouvée."
        ),
    },
    "TAR-010": {
        "slug": "bab-derb-laafou",
        "protection": MEDINA_CLASSIFIED,
        "description_fr": (
            "Porte nord-est/est nommée d'après le Derb Laafou (anciennement Derb Ismkan, selon "
            "tamazirtpress). Ce n'est pas l'une des 5 portes historiques."
        ),
    },
    "TAR-011": {
        "slug": "bab-lahjer",
        "protection": MEDINA_CLASSIFIED,
        "description_fr": (
            "Porte est (« porte de pierre » selon le jeu de données). Ce n'est pas l'une des 5 "
            "portes historiques. Aucune description indépendante n'a été trouvée."
        ),
    },
    "TAR-012": {
        "slug": "bab-lblalia",
        "protection": MEDINA_CLASSIFIED,
        "description_fr": (
            "Porte sud-est. Ce n'est pas l'une des 5 portes historiques. La forme arabe du nom "
            "provient uniquement du jeu de données GitHub."
        ),
    },
    "TAR-013": {
        "slug": "bab-benyara",
        "protection": MEDINA_CLASSIFIED,
        "description_fr": (
            "Porte sud, à 125 m de la valeur de la maquette TS pour Bab Zorgane : Zorgane et "
            "Benyara ont donc pu être confondues dans les données. Ce n'est pas l'une des 5 portes "
            "historiques."
        ),
    },
    "TAR-014": {
        "slug": "bab-agafay",
        "protection": MEDINA_CLASSIFIED,
        # The CSV said "about 270 m"; the perpendicular distance computed from
        # the three coordinates is about 230 m.
        "description_en": (
            "Listed as a south-west/west gate. Agafay/Akafi (Arabic script أكافي) is a local place "
            "name (a point where the seguia irrigation channel branches). The point lies about "
            "230 m inside a straight Targhount-Bounouna line, so it may be an inner gate or a "
            "mistake. Verify."
        ),
        "description_fr": (
            "Répertoriée comme porte sud-ouest/ouest. Agafay/Akafi (en graphie arabe أكافي) est un "
            "toponyme local (un point où la séguia d'irrigation se divise). Le point se trouve à "
            "environ 230 m à l'intérieur de la ligne droite Targhount-Bounouna : il peut s'agir "
            "d'une porte intérieure ou d'une erreur. À vérifier."
        ),
    },
    "TAR-015": {
        "slug": "kasbah",
        "protection": MEDINA_CLASSIFIED,
        "confidence": "estimated",
        "visiting_info": "Reached through Bab El Kasbah or Bab Sedra.",
        "description_en": (
            "Fortified citadel inside the ramparts, about 50,000 m² (Sadiq) or a 300 m square "
            "(over-blog), with 56 small square towers, reached through Bab El Kasbah / Bab Sedra. "
            "It held the governor's palace, now the Palais Salam hotel; today it is a modest "
            "residential quarter with murals. Sources put it in the east or north-east (one GitHub "
            "README says 'south-west', which is rejected). ESTIMATED point about 150-200 m inside "
            "(west of) Bab Sedra."
        ),
        "description_fr": (
            "Citadelle fortifiée à l'intérieur des remparts, d'environ 50 000 m² (Sadiq) ou d'un "
            "carré de 300 m (over-blog), avec 56 petites tours carrées, accessible par Bab El "
            "Kasbah / Bab Sedra. Elle abritait le palais du gouverneur, devenu l'hôtel Palais "
            "Salam ; c'est aujourd'hui un quartier résidentiel modeste orné de peintures murales. "
            "Les sources la situent à l'est ou au nord-est (un README GitHub dit « sud-ouest », ce "
            "qui est rejeté). Point ESTIMÉ à environ 150-200 m à l'intérieur (à l'ouest) de Bab "
            "Sedra."
        ),
    },
    "TAR-016": {
        "slug": "grand-mosque",
        "protection": MEDINA_CLASSIFIED,
        "threats": (
            "Ravaged by fire on 7 May 2013 (reconstruction ordered by the King); later flooded "
            "by rain."
        ),
        "description_en": (
            "Main Saadian mosque with its medersa (about 3,200 m², 4,000 worshippers, 27 m square "
            "minaret), listed as a national historic monument. It was ravaged by fire on 7 May 2013 "
            "and its reconstruction was ordered by King Mohammed VI. Sources place it in the EAST "
            "of the medina, between the roads to Bab Zorgane and Bab El Kasbah, with an old "
            "cemetery on its qibla side. The coordinate is from an early GitHub seed whose "
            "descriptive text is unreliable (it calls the mosque Marinid)."
        ),
        "description_fr": (
            "Principale mosquée saadienne, avec sa médersa (environ 3 200 m², 4 000 fidèles, "
            "minaret carré de 27 m), inscrite comme monument historique national. Elle a été "
            "ravagée par un incendie le 7 mai 2013 et sa reconstruction a été ordonnée par le roi "
            "Mohammed VI. Les sources la situent à l'EST de la médina, entre les routes menant à "
            "Bab Zorgane et à Bab El Kasbah, avec un ancien cimetière du côté de la qibla. La "
            "coordonnée provient d'une première version d'un jeu de données GitHub dont les textes "
            "sont peu fiables (il qualifie la mosquée de mérinide)."
        ),
    },
    "TAR-017": {
        "slug": "place-assarag",
        "protection": MEDINA_CLASSIFIED,
        # "Place El Alaouyine, known by its Berber name as Place Assarag" (DK).
        "name_zgh": "Assarag",
        "threats": "Described by Le360 as marginalised today, having lost its storytellers.",
        "description_en": (
            "Central square and social heart of the medina, with cafés under arcades. The DK guide "
            "and SMIT give Place Al-Alaouyine as its official name (Assarag being its Berber name), "
            "so Assarag and Alaouyine are the SAME square. Rough GitHub values vary by up to about "
            "170 m (30.4705, -8.8770; 30.4720, -8.8769)."
        ),
        "description_fr": (
            "Place centrale et cœur social de la médina, avec des cafés sous arcades. Le guide DK "
            "et la SMIT donnent Place Al-Alaouyine comme nom officiel (Assarag étant son nom "
            "berbère) : Assarag et Alaouyine sont donc la MÊME place. Les valeurs approximatives "
            "de GitHub varient jusqu'à environ 170 m (30.4705, -8.8770 ; 30.4720, -8.8769)."
        ),
    },
    "TAR-018": {
        "slug": "place-talmoqlate",
        "protection": MEDINA_CLASSIFIED,
        "confidence": "estimated",
        "description_en": (
            "Second square, in line with Place Assarag (it is not Place Al-Alaouyine, which is "
            "Assarag). The main entrance of the Berber souk (Jnane Jamaa) and the orange-juice "
            "stalls are here, and the Arab souk is on the opposite side. It may be the 'Place El "
            "Nasr/An-Nasr' of other sources. ESTIMATED: placed at the Place Assarag coordinate "
            "because the sources call it adjacent. A GitHub value (30.4724, -8.8738, next to Bab El "
            "Kasbah) was rejected as inconsistent."
        ),
        "description_fr": (
            "Seconde place, dans le prolongement de la place Assarag (ce n'est pas la place "
            "Al-Alaouyine, qui est Assarag). On y trouve l'entrée principale du souk berbère (Jnane "
            "Jamaa) et les étals de jus d'orange, le souk arabe étant du côté opposé. Il pourrait "
            "s'agir de la « Place El Nasr/An-Nasr » d'autres sources. ESTIMÉ : placée à la "
            "coordonnée de la place Assarag, les sources la disant adjacente. Une valeur GitHub "
            "(30.4724, -8.8738, à côté de Bab El Kasbah) a été rejetée comme incohérente."
        ),
    },
    "TAR-019": {
        "slug": "souk-arabe",
        "protection": MEDINA_CLASSIFIED,
        "confidence": "estimated",
        "description_en": (
            "Artisan souk by Place Assarag: leather, silver, pottery, carpets, spices, wrought iron "
            "and carved Taroudant limestone, with the jewellers' souk at its heart; more than 1,000 "
            "traders according to SMIT. ESTIMATED: placed at the Place Assarag coordinate."
        ),
        "description_fr": (
            "Souk artisanal près de la place Assarag : cuir, argent, poterie, tapis, épices, fer "
            "forgé et « pierre de Taroudant » sculptée, avec le souk des bijoutiers en son cœur ; "
            "plus de 1 000 commerçants selon la SMIT. ESTIMÉ : placé à la coordonnée de la place "
            "Assarag."
        ),
    },
    "TAR-020": {
        "slug": "souk-berbere",
        "protection": MEDINA_CLASSIFIED,
        "visiting_info": "Open daily; entered from Place Talmoqlate.",
        "description_en": (
            "Historic Berber souk and municipal market, open daily (food, spices, everyday goods, "
            "crafts), under a corrugated roof, entered from Place Talmoqlate. Rough coordinate from "
            "a GitHub app seed that gives the address 'Place Assarag'."
        ),
        "description_fr": (
            "Souk berbère historique et marché municipal, ouvert tous les jours (alimentation, "
            "épices, produits courants, artisanat), sous un toit de tôle ondulée, accessible depuis "
            "la place Talmoqlate. Coordonnée approximative issue des données d'une application "
            "GitHub qui donne l'adresse « Place Assarag »."
        ),
    },
    "TAR-021": {
        "slug": "tanneries",
        # Just outside the walls: not covered by the medina classification as far
        # as the sources say.
        "confidence": "estimated",
        "visiting_info": "Just outside Bab Targhount, at the western end of the medina.",
        "description_en": (
            "Small traditional tannery just outside the walls by Bab Targhount, at the western end "
            "of the medina. About 40 tanners; hand processes; the quarter was cleaned up in 2001. "
            "ESTIMATED: placed at the Bab Targhount gate coordinate."
        ),
        "description_fr": (
            "Petite tannerie traditionnelle juste à l'extérieur des remparts, près de Bab "
            "Targhount, à l'extrémité ouest de la médina. Environ 40 tanneurs ; procédés manuels ; "
            "le quartier a été assaini en 2001. ESTIMÉ : placée à la coordonnée de la porte Bab "
            "Targhount."
        ),
    },
    "TAR-022": {
        "slug": "palais-salam",
        "protection": MEDINA_CLASSIFIED,
        "threats": "Declining since about 2015 (unpaid staff, inheritance dispute).",
        "visiting_info": "Entrance at the main crossroads outside the walls.",
        "description_en": (
            "Former residence of the pasha/caïd (governor), part of the Kasbah and built against "
            "its ramparts, later a hotel with lush gardens; its entrance is at the main crossroads "
            "outside the walls. Reported to be declining after 2015 (unpaid staff, inheritance "
            "dispute). Rough coordinate from a GitHub app seed."
        ),
        "description_fr": (
            "Ancienne résidence du pacha/caïd (gouverneur), partie de la Kasbah et adossée à ses "
            "remparts, devenue ensuite un hôtel aux jardins luxuriants ; son entrée se trouve au "
            "grand carrefour à l'extérieur des murs. Il serait en déclin depuis 2015 (personnel "
            "impayé, litige successoral). Coordonnée approximative issue des données d'une "
            "application GitHub."
        ),
    },
    "TAR-023": {
        "slug": "claudio-bravo-museum",
        "visiting_info": (
            "8-12 km north of Taroudant on the Tamaloukt road; taxis leave from Bab El Khemis. "
            "Museum and guest house."
        ),
        # Distance recomputed from the two points: 8.8 km (the CSV said 8.9 km).
        "description_en": (
            "75 ha estate of the Chilean painter Claudio Bravo (died 2011), built 2002-2004, with "
            "his mausoleum (2006); now a museum and guest house with a Menara-style basin and "
            "gardens. It lies 8-12 km north of Taroudant on the road to Tamaloukt. The GPS point is "
            "from the regional tourism council site; it is about 8.8 km north of the town point, "
            "which matches the descriptions."
        ),
        "description_fr": (
            "Domaine de 75 ha du peintre chilien Claudio Bravo (mort en 2011), construit en "
            "2002-2004, avec son mausolée (2006) ; aujourd'hui musée et maison d'hôtes, avec un "
            "bassin de style Ménara et des jardins. Il se trouve à 8-12 km au nord de Taroudant, "
            "sur la route de Tamaloukt. Le point GPS provient du site du conseil régional du "
            "tourisme ; il est à environ 8,8 km au nord du point de référence de la ville, ce qui "
            "concorde avec les descriptions."
        ),
    },
    "TAR-024": {
        "slug": "tioute-palm-grove",
        "visiting_info": (
            "About 30 km south-east of Taroudant; the regional tourism council gives the signposted "
            "access at 30.393457, -8.689714."
        ),
        "description_en": (
            "Oasis of about 1,000 ha with about 20,000 date palms, fed by a spring from the "
            "Anti-Atlas, about 30 km south-east of Taroudant according to the sources (the point "
            "is about 20 km from the town point in a straight line, computed), with seven villages. "
            "Fernandel's 'Ali Baba et les 40 voleurs' was filmed here in 1952 or 1954 (sources "
            "differ). The same site gives a second point, 30.393457, -8.689714, for the signposted "
            "access."
        ),
        "description_fr": (
            "Oasis d'environ 1 000 ha comptant quelque 20 000 palmiers dattiers, alimentée par une "
            "source de l'Anti-Atlas, à environ 30 km au sud-est de Taroudant selon les sources (le "
            "point est à environ 20 km à vol d'oiseau du point de référence de la ville, calcul), "
            "avec sept villages. « Ali Baba et les 40 voleurs », avec Fernandel, y a été tourné en "
            "1952 ou 1954 (les sources divergent). Le même site donne un second point, 30.393457, "
            "-8.689714, pour l'accès balisé."
        ),
    },
    "TAR-025": {
        "slug": "tioute-kasbah",
        "confidence": "estimated",
        # "Partly ruined" (sources) is the only statement on the state of a place.
        "condition": "poor",
        "visiting_info": "A panoramic restaurant stands next to the kasbah.",
        "description_en": (
            "Hilltop kasbah of the Saadian era (16th c.) overlooking the palm grove, the caïd's "
            "residence until the Protectorate. Partly ruined, with a panoramic restaurant next to "
            "it. The Tiout mellah and the tomb of Rabbi Shalom Benzaquin are nearby, and the "
            "mausoleum of Sidi Abdel Kader faces the kasbah. ESTIMATED: placed at the palm-grove "
            "coordinate (the kasbah is on the hill above it)."
        ),
        "description_fr": (
            "Kasbah perchée d'époque saadienne (XVIe s.) dominant la palmeraie, résidence du caïd "
            "jusqu'au Protectorat. En partie en ruine, avec un restaurant panoramique à côté. Le "
            "mellah de Tiout et la tombe du rabbin Shalom Benzaquin sont proches, et le mausolée de "
            "Sidi Abdel Kader fait face à la kasbah. ESTIMÉ : placée à la coordonnée de la "
            "palmeraie (la kasbah est sur la colline qui la domine)."
        ),
    },
    "ENV-001": {
        "slug": "souss-river-taroudant",
        # Tashelhit name given in the notes (§2).
        "name_zgh": "Asif n Sus",
        "geometry": {"type": "LineString", "coordinates": SOUSS_NEAR_TAROUDANT},
        "confidence": "estimated",
        "description_en": (
            "Main river of the valley (Tashelhit Asif n Sus). Taroudant lies about 2 km north of "
            "its bed, and upstream (east) of Taroudant it is called Assif Tifnout. ESTIMATED: the "
            "line is a schematic estimate of the bed about 2 km south of the town, drawn roughly "
            "west-east across the town's longitude; it is not a survey of the channel."
        ),
        "description_fr": (
            "Principal cours d'eau de la vallée (en tachelhit Asif n Sus). Taroudant se trouve à "
            "environ 2 km au nord de son lit ; en amont (à l'est) de Taroudant, il porte le nom "
            "d'Assif Tifnout. ESTIMÉ : la ligne est une estimation schématique du lit à environ "
            "2 km au sud de la ville, tracée à peu près d'ouest en est de part et d'autre de la "
            "longitude de la ville ; ce n'est pas un relevé du chenal."
        ),
    },
    "ENV-002": {
        "slug": "souss-river-mouth",
        "description_fr": (
            "Embouchure sur l'Atlantique, à environ 10 km au sud d'Agadir (30°21'54\"N "
            "9°36'14\"W). Longueur du fleuve : 180 à 190 km ; bassin d'environ 17 000 km² ; "
            "barrages : Mokhtar Soussi, Aoulouz, Taroudannt. La limite nord du parc national de "
            "Souss-Massa se trouve ici."
        ),
    },
    "ENV-003": {
        "slug": "souss-river-source",
        "description_fr": (
            "Source dans le massif du Toubkal, Haut Atlas (30°36'0\"N 7°45'11\"W selon Wikipédia "
            "en allemand)."
        ),
    },
    "ENV-004": {
        "slug": "arganeraie-biosphere-reserve",
        # Designated in 1998; only the year is known, so no protection_date.
        "protection": {
            "protection_status": "protected_area",
            "protection_ref": "UNESCO MAB biosphere reserve (Arganeraie, MOR 01), designated 1998",
            "protection_date": None,
        },
        "description_en": (
            "UNESCO biosphere reserve (1998) of the endemic argan tree (Argania spinosa). Total "
            "area 2,568,780 ha (core 110,000, buffer 953,870, transition 1,504,910 ha) according "
            "to the MAB directory, which gives its extent as 29°15'-31°20'N, 8°10'-10°25'W, so "
            "Taroudant is inside it. Eaux et Forêts (2008) gives 2,499,970 ha with 18 core areas. "
            "The point is a reference point from the French Wikipedia infobox, not the site of "
            "Taroudant."
        ),
        "description_fr": (
            "Réserve de biosphère de l'UNESCO (1998) consacrée à l'arganier endémique (Argania "
            "spinosa). Superficie totale de 2 568 780 ha (aire centrale 110 000, zone tampon "
            "953 870, zone de transition 1 504 910 ha) selon le répertoire du MAB, qui en donne "
            "l'étendue 29°15'-31°20'N, 8°10'-10°25'W : Taroudant s'y trouve donc. Les Eaux et "
            "Forêts (2008) indiquent 2 499 970 ha avec 18 aires centrales. Le point est un point "
            "de référence tiré de l'infobox de Wikipédia en français, et non l'emplacement de "
            "Taroudant."
        ),
    },
    "ENV-005": {
        "slug": "souss-massa-national-park",
        "protection": {
            "protection_status": "protected_area",
            "protection_ref": (
                "National park created by decree 2-91-518 of 8 August 1991; Ramsar site no. 1487 "
                "'Zones humides de Souss-Massa' (15 January 2005)"
            ),
            "protection_date": "1991-08-08",
        },
        "description_en": (
            "Coastal national park of 33,800 ha between the mouth of the Souss and Aglou, and a "
            "core area of the Arganeraie biosphere reserve. Ramsar site no. 1487 (2005). Home of "
            "the northern bald ibis. About 88 km WSW of Taroudant in a straight line (computed); "
            "its northern end at the Souss mouth is about 71 km WSW."
        ),
        "description_fr": (
            "Parc national côtier de 33 800 ha entre l'embouchure du Souss et Aglou, et aire "
            "centrale de la réserve de biosphère de l'Arganeraie. Site Ramsar n° 1487 (2005). "
            "Refuge de l'ibis chauve. À environ 88 km à l'ouest-sud-ouest de Taroudant à vol "
            "d'oiseau (calcul) ; son extrémité nord, à l'embouchure du Souss, est à environ 71 km "
            "à l'ouest-sud-ouest."
        ),
    },
    "ENV-006": {
        "slug": "tizi-n-test",
        "visiting_info": "On road R203 between Marrakech and Taroudant (223 km).",
        "description_en": (
            "High Atlas pass at 2,092-2,093 m on the R203 road from Marrakech to Taroudant "
            "(223 km), in Taroudant province; the road was built in 1926-1932. It is the direct "
            "mountain approach to Taroudant, about 65 km NNE in a straight line (computed)."
        ),
        "description_fr": (
            "Col du Haut Atlas à 2 092-2 093 m sur la route R203 de Marrakech à Taroudant "
            "(223 km), dans la province de Taroudant ; la route a été construite en 1926-1932. "
            "C'est l'accès montagnard direct à Taroudant, à environ 65 km au nord-nord-est à vol "
            "d'oiseau (calcul)."
        ),
    },
    "ENV-007": {
        "slug": "jbel-toubkal",
        "description_fr": (
            "Plus haut sommet d'Afrique du Nord (4 167 m). Les sources divergent sur son "
            "appartenance à la province de Taroudant ou à celle d'Al Haouz. À environ 113 km au "
            "nord-est de Taroudant (calcul)."
        ),
    },
    "ENV-008": {
        "slug": "toubkal-national-park",
        # Only the year 1942 is known, so no protection_date.
        "protection": {
            "protection_status": "protected_area",
            "protection_ref": "National park, established 1942",
            "protection_date": None,
        },
        "description_fr": (
            "Parc national de 380 km² dans le Haut Atlas (point de référence tiré de l'infobox de "
            "Wikipédia)."
        ),
    },
}

UNKNOWN_PROTECTION = {"protection_status": "unknown", "protection_ref": None, "protection_date": None}



def clean(value: str) -> str | None:
    """Strip a CSV cell; empty cells and the '—' placeholder become None."""
    value = (value or "").strip()
    return None if value in ("", "—") else value


def join_sources(cell: str) -> str:
    """The CSV separates sources with ' ; '; the seed format uses '; '."""
    return "; ".join(part.strip() for part in cell.split(";") if part.strip())


def round_coords(coords):
    """Round every number in a (nested) coordinate list to 7 decimals."""
    if isinstance(coords[0], (int, float)):
        return [round(float(c), 7) for c in coords]
    return [round_coords(c) for c in coords]


def walk_positions(coords):
    """Yield every [lon, lat] position of a (nested) coordinate list."""
    if isinstance(coords[0], (int, float)):
        yield coords
    else:
        for c in coords:
            yield from walk_positions(c)


def build_feature(row: dict) -> dict:
    ref = row["id"]
    decision = DECISIONS[ref]

    category = CATEGORY_MAP.get(row["subcategory"], row["subcategory"])
    kind = vocab.category(category).kind  # raises on an unknown category
    if kind != row["category"]:
        raise ValueError(f"{ref}: CSV kind {row['category']!r} != vocab kind {kind!r}")

    confidence = decision.get("confidence", row["coord_confidence"])
    description_en = decision.get("description_en", row["description"].strip())
    # An estimated position must never be presented as sourced, and vice versa.
    if ("ESTIMATED" in description_en) != (confidence == "estimated"):
        raise ValueError(f"{ref}: 'ESTIMATED' in description does not match confidence {confidence!r}")

    geometry = decision.get("geometry") or {
        "type": "Point",
        "coordinates": [float(row["lon"]), float(row["lat"])],
    }
    geometry = {"type": geometry["type"], "coordinates": round_coords(geometry["coordinates"])}
    for lon, lat in walk_positions(geometry["coordinates"]):
        west, south, east, north = MOROCCO_BOUNDS  # the app's own sanity check on every coordinate
        if not (south <= lat <= north and west <= lon <= east):
            raise ValueError(f"{ref}: position {lon},{lat} is outside Morocco")

    protection = decision.get("protection", UNKNOWN_PROTECTION)
    properties = {
        "slug": decision["slug"],
        "ref": ref,
        "name_en": clean(row["name_en"]),
        "name_fr": clean(row["name_fr"]),
        "name_ar": clean(row["name_ar"]),  # never translated: null when the CSV has none
        "name_zgh": decision.get("name_zgh"),
        "kind": kind,
        "category": category,
        "description_en": description_en,
        "description_fr": decision["description_fr"],
        "description_ar": None,
        "period": clean(row["period"]),
        "protection_status": protection["protection_status"],
        "protection_ref": protection["protection_ref"],
        "protection_date": protection["protection_date"],
        "condition": decision.get("condition", "unknown"),
        "condition_date": None,
        "threats": decision.get("threats"),
        "visiting_info": decision.get("visiting_info"),
        "sources": join_sources(row["source_url"]),
        "coord_confidence": confidence,
        "publication_status": "published",
        "sample": False,
    }
    check_vocab(ref, properties)
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def check_vocab(ref: str, p: dict) -> None:
    checks = {
        "kind": vocab.KINDS,
        "category": tuple(vocab.CATEGORIES),
        "protection_status": vocab.PROTECTIONS,
        "condition": vocab.CONDITIONS,
        "coord_confidence": vocab.CONFIDENCES,
        "publication_status": vocab.PUBLICATION_STATES,
    }
    for key, allowed in checks.items():
        if p[key] not in allowed:
            raise ValueError(f"{ref}: {key}={p[key]!r} not in {allowed}")


def to_json(data) -> str:
    """Indented JSON with real UTF-8 characters and each [lon, lat] pair on one line."""
    text = json.dumps(data, ensure_ascii=False, indent=2)
    number = r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
    pair = re.compile(r"\[\s*(" + number + r"),\s*(" + number + r")\s*\]")
    return pair.sub(r"[\1, \2]", text) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print("usage: python3 scripts/build_geodata.py PATH/TO/taroudant-sites.csv [OUTPUT]", file=sys.stderr)
        return 2
    csv_path = Path(argv[1])
    out_path = Path(argv[2]) if len(argv) == 3 else ROOT / "geodata" / "sites.geojson"

    with csv_path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))

    refs = [r["id"] for r in rows]
    missing = [ref for ref in refs if ref not in SKIP and ref not in DECISIONS]
    unused = [ref for ref in DECISIONS if ref not in refs]
    if missing or unused:
        raise SystemExit(f"decision table out of step with the CSV: missing={missing} unused={unused}")

    features = [build_feature(r) for r in rows if r["id"] not in SKIP]
    slugs = [f["properties"]["slug"] for f in features]
    duplicates = {s for s in slugs if slugs.count(s) > 1}
    if duplicates:
        raise SystemExit(f"duplicate slugs: {sorted(duplicates)}")

    collection = {"type": "FeatureCollection", "features": features}
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(to_json(collection), encoding="utf-8")
    print(f"wrote {len(features)} features to {out_path} (skipped: {', '.join(SKIP)})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
