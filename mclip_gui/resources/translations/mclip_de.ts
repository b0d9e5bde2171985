<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de" sourcelanguage="en">
<context>
    <name>AnnotatorSwitcher</name>
    <message>
        <location filename="../../gui/annotator.py" line="112"/>
        <source>Add annotator…</source>
        <translation>Person hinzufügen…</translation>
    </message>
    <message>
        <location filename="../../gui/annotator.py" line="156"/>
        <source>Annotator:</source>
        <translation>Person:</translation>
    </message>
</context>
<context>
    <name>CaptionPage</name>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="307"/>
        <source>Write a search query that would find this product: name its type, a guess at its material, where it might be worn, its colour, texture and details.</source>
        <translation>Schreiben Sie eine Suchanfrage, mit der man dieses Produkt finden würde: nennen Sie die Art, eine Vermutung zum Material, wo man es tragen könnte, Farbe, Struktur und Details.</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="311"/>
        <source>e.g. leichte Damenjacke aus Baumwolle, braun</source>
        <translation>z. B. leichte Damenjacke aus Baumwolle, braun</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="312"/>
        <source>Caption language:</source>
        <translation>Sprache der Beschreibung:</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="313"/>
        <source>Submit (Ctrl+Enter)</source>
        <translation>Absenden (Strg+Eingabe)</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="314"/>
        <source>Skip (Alt+→)</source>
        <translation>Überspringen (Alt+→)</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="315"/>
        <source>Back (Alt+←)</source>
        <translation>Zurück (Alt+←)</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="316"/>
        <source>Undo my last caption (Alt+Z)</source>
        <translation>Meine letzte Beschreibung zurücknehmen (Alt+Z)</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="325"/>
        <location filename="../../gui/pages/caption_page.py" line="538"/>
        <source>Caption</source>
        <translation>Beschreiben</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="375"/>
        <source>You captioned this image already; submitting replaces your caption.</source>
        <translation>Sie haben dieses Bild schon beschrieben; Absenden ersetzt Ihre Beschreibung.</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="385"/>
        <source>Choose an annotator name to start.</source>
        <translation>Wählen Sie zum Beginnen einen Namen.</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="387"/>
        <source>No image needs a caption right now.</source>
        <translation>Gerade braucht kein Bild eine Beschreibung.</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="437"/>
        <source>Fix the caption first: each message says how.</source>
        <translation>Bitte erst die Beschreibung korrigieren: jede Meldung sagt, wie.</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="449"/>
        <source>Caption saved.</source>
        <translation>Beschreibung gespeichert.</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="467"/>
        <source>This is the first image of this session.</source>
        <translation>Das ist das erste Bild dieser Sitzung.</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="479"/>
        <source>Nothing to undo: none of your captions is still waiting for validation.</source>
        <translation>Nichts zurückzunehmen: keine Ihrer Beschreibungen wartet noch auf Prüfung.</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="484"/>
        <source>Your last caption was withdrawn; edit and submit it.</source>
        <translation>Ihre letzte Beschreibung wurde zurückgenommen; bearbeiten und erneut absenden.</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="493"/>
        <source>Loading tokenizer</source>
        <translation>Tokenizer wird geladen</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="509"/>
        <source>Token preview unavailable: %1</source>
        <translation>Token-Vorschau nicht verfügbar: %1</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="519"/>
        <source>%1 pieces (%2 of %3 tokens): </source>
        <translation>%1 Teile (%2 von %3 Tokens): </translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="528"/>
        <source>The caption is longer than the model&apos;s context (%1 of %2 tokens); the end will be cut off.</source>
        <translation>Die Beschreibung ist länger als der Kontext des Modells (%1 von %2 Tokens); das Ende wird abgeschnitten.</translation>
    </message>
</context>
<context>
    <name>CaptionRules</name>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="164"/>
        <source>The caption is empty.</source>
        <translation>Die Beschreibung ist leer.</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="166"/>
        <source>The caption has no words, only punctuation or symbols.</source>
        <translation>Die Beschreibung enthält keine Wörter, nur Satz- oder Sonderzeichen.</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="170"/>
        <source>Write at least %1 words (now %2).</source>
        <translation>Schreiben Sie mindestens %1 Wörter (bisher %2).</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="173"/>
        <source>Separate words only with a space or &quot;, &quot; (found %1).</source>
        <translation>Trennen Sie Wörter nur mit einem Leerzeichen oder „, “ (gefunden: %1).</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="178"/>
        <source>Write words, not emoji or symbols (found %1).</source>
        <translation>Schreiben Sie Wörter, keine Emojis oder Symbole (gefunden: %1).</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="183"/>
        <source>Do not start with &quot;%1&quot;: name the product right away.</source>
        <translation>Beginnen Sie nicht mit „%1“: nennen Sie gleich das Produkt.</translation>
    </message>
</context>
<context>
    <name>ImageView</name>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="120"/>
        <source>Loading image…</source>
        <translation>Bild wird geladen…</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="139"/>
        <source>This image cannot be shown: %1</source>
        <translation>Dieses Bild kann nicht angezeigt werden: %1</translation>
    </message>
</context>
<context>
    <name>NameDialog</name>
    <message>
        <location filename="../../gui/annotator.py" line="64"/>
        <source>Annotator</source>
        <translation>Person</translation>
    </message>
    <message>
        <location filename="../../gui/annotator.py" line="68"/>
        <source>Who is writing captions? Your name is stored with every caption and verdict. There is no password; others can add their own names later.</source>
        <translation>Wer schreibt die Beschreibungen? Ihr Name wird mit jeder Beschreibung und jedem Urteil gespeichert. Es gibt kein Passwort; weitere Personen können später ihren Namen hinzufügen.</translation>
    </message>
    <message>
        <location filename="../../gui/annotator.py" line="73"/>
        <source>Name of the new annotator:</source>
        <translation>Name der neuen Person:</translation>
    </message>
</context>
<context>
    <name>OverviewPage</name>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="94"/>
        <source>Import captions…</source>
        <translation>Beschreibungen importieren…</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="95"/>
        <source>Export captions…</source>
        <translation>Beschreibungen exportieren…</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="97"/>
        <source>No caption</source>
        <translation>Keine Beschreibung</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="98"/>
        <source>Awaiting validation</source>
        <translation>Wartet auf Prüfung</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="99"/>
        <location filename="../../gui/pages/overview_page.py" line="111"/>
        <source>Accepted</source>
        <translation>Angenommen</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="100"/>
        <source>Rejected (back in the queue)</source>
        <translation>Abgelehnt (wieder in der Warteschlange)</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="101"/>
        <source>Image problem</source>
        <translation>Bildproblem</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="105"/>
        <source>Images</source>
        <translation>Bilder</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="106"/>
        <source>Annotators</source>
        <translation>Personen</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="109"/>
        <source>Annotator</source>
        <translation>Person</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="110"/>
        <source>Captions</source>
        <translation>Beschreibungen</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="112"/>
        <source>Rejected</source>
        <translation>Abgelehnt</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="113"/>
        <source>Verdicts given</source>
        <translation>Abgegebene Urteile</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="116"/>
        <source>Refresh</source>
        <translation>Aktualisieren</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="119"/>
        <location filename="../../gui/pages/overview_page.py" line="256"/>
        <source>Overview</source>
        <translation>Übersicht</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="145"/>
        <source>Counting captions</source>
        <translation>Beschreibungen werden gezählt</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="160"/>
        <source>Split: %1 train, %2 eval images (one in %3 held out for evaluation).</source>
        <translation>Aufteilung: %1 Trainings-, %2 Evaluationsbilder (eines von %3 für die Evaluation zurückgehalten).</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="170"/>
        <source>Agreement between validators: not yet known (needs captions with two or more verdicts; set verdicts per caption to 2 or more).</source>
        <translation>Übereinstimmung der Prüfenden: noch unbekannt (braucht Beschreibungen mit zwei oder mehr Urteilen; Urteile pro Beschreibung auf 2 oder mehr stellen).</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="175"/>
        <source>Agreement between validators (Krippendorff&apos;s alpha, %1 captions): %2; %3% of verdict pairs agree.</source>
        <translation>Übereinstimmung der Prüfenden (Krippendorffs Alpha, %1 Beschreibungen): %2; %3 % der Urteilspaare stimmen überein.</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="187"/>
        <source>Import captions</source>
        <translation>Beschreibungen importieren</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="189"/>
        <source>Caption files (*.tsv *.csv *.jsonl);;All files (*)</source>
        <translation>Beschreibungsdateien (*.tsv *.csv *.jsonl);;Alle Dateien (*)</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="200"/>
        <source>Importing captions</source>
        <translation>Beschreibungen werden importiert</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="209"/>
        <source>Captions imported</source>
        <translation>Beschreibungen importiert</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="213"/>
        <source>CSV, all captions (*.csv)</source>
        <translation>CSV, alle Beschreibungen (*.csv)</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="214"/>
        <source>JSONL, all captions (*.jsonl)</source>
        <translation>JSONL, alle Beschreibungen (*.jsonl)</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="215"/>
        <source>open_clip training CSV, accepted train captions (*.csv)</source>
        <translation>open_clip-Trainings-CSV, angenommene Beschreibungen des Trainingsteils (*.csv)</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="216"/>
        <source>Toloka TSV (*.tsv)</source>
        <translation>Toloka-TSV (*.tsv)</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="219"/>
        <source>Export captions</source>
        <translation>Beschreibungen exportieren</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="228"/>
        <source>Exporting captions</source>
        <translation>Beschreibungen werden exportiert</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="232"/>
        <source>Captions exported</source>
        <translation>Beschreibungen exportiert</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="233"/>
        <source>%1 captions written to %2</source>
        <translation>%1 Beschreibungen nach %2 geschrieben</translation>
    </message>
</context>
<context>
    <name>ValidatePage</name>
    <message>
        <location filename="../../gui/pages/validate_page.py" line="87"/>
        <source>1  Appropriate</source>
        <translation>1  Passend</translation>
    </message>
    <message>
        <location filename="../../gui/pages/validate_page.py" line="88"/>
        <source>2  Inappropriate</source>
        <translation>2  Unpassend</translation>
    </message>
    <message>
        <location filename="../../gui/pages/validate_page.py" line="89"/>
        <source>3  Image failed to load</source>
        <translation>3  Bild lädt nicht</translation>
    </message>
    <message>
        <location filename="../../gui/pages/validate_page.py" line="93"/>
        <source>Skip (S)</source>
        <translation>Überspringen (S)</translation>
    </message>
    <message>
        <location filename="../../gui/pages/validate_page.py" line="96"/>
        <location filename="../../gui/pages/validate_page.py" line="191"/>
        <source>Validate</source>
        <translation>Prüfen</translation>
    </message>
    <message>
        <location filename="../../gui/pages/validate_page.py" line="146"/>
        <source>Choose an annotator name to start.</source>
        <translation>Wählen Sie zum Beginnen einen Namen.</translation>
    </message>
    <message>
        <location filename="../../gui/pages/validate_page.py" line="148"/>
        <source>No caption needs your verdict right now.</source>
        <translation>Gerade braucht keine Beschreibung Ihr Urteil.</translation>
    </message>
    <message>
        <location filename="../../gui/pages/validate_page.py" line="154"/>
        <source>Language: %1 · verdicts so far: %2</source>
        <translation>Sprache: %1 · bisherige Urteile: %2</translation>
    </message>
    <message>
        <location filename="../../gui/pages/validate_page.py" line="170"/>
        <source>Verdict saved; the caption waits for more verdicts.</source>
        <translation>Urteil gespeichert; die Beschreibung wartet auf weitere Urteile.</translation>
    </message>
    <message>
        <location filename="../../gui/pages/validate_page.py" line="171"/>
        <source>Verdict saved; the caption is accepted.</source>
        <translation>Urteil gespeichert; die Beschreibung ist angenommen.</translation>
    </message>
    <message>
        <location filename="../../gui/pages/validate_page.py" line="173"/>
        <source>Verdict saved; the caption is rejected and the image is back in the caption queue.</source>
        <translation>Urteil gespeichert; die Beschreibung ist abgelehnt und das Bild wieder in der Warteschlange.</translation>
    </message>
    <message>
        <location filename="../../gui/pages/validate_page.py" line="175"/>
        <source>Verdict saved; the image is flagged as a problem.</source>
        <translation>Urteil gespeichert; das Bild ist als Problem markiert.</translation>
    </message>
</context>
</TS>
