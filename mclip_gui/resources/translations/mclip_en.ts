<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en" sourcelanguage="en">
<context>
    <name>AnnotatorSwitcher</name>
    <message>
        <location filename="../../gui/annotator.py" line="112"/>
        <source>Add annotator…</source>
        <translation>Add annotator…</translation>
    </message>
    <message>
        <location filename="../../gui/annotator.py" line="156"/>
        <source>Annotator:</source>
        <translation>Annotator:</translation>
    </message>
</context>
<context>
    <name>CaptionPage</name>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="307"/>
        <source>Write a search query that would find this product: name its type, a guess at its material, where it might be worn, its colour, texture and details.</source>
        <translation>Write a search query that would find this product: name its type, a guess at its material, where it might be worn, its colour, texture and details.</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="311"/>
        <source>e.g. leichte Damenjacke aus Baumwolle, braun</source>
        <translation>e.g. leichte Damenjacke aus Baumwolle, braun</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="312"/>
        <source>Caption language:</source>
        <translation>Caption language:</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="313"/>
        <source>Submit (Ctrl+Enter)</source>
        <translation>Submit (Ctrl+Enter)</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="314"/>
        <source>Skip (Alt+→)</source>
        <translation>Skip (Alt+→)</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="315"/>
        <source>Back (Alt+←)</source>
        <translation>Back (Alt+←)</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="316"/>
        <source>Undo my last caption (Alt+Z)</source>
        <translation>Undo my last caption (Alt+Z)</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="325"/>
        <location filename="../../gui/pages/caption_page.py" line="538"/>
        <source>Caption</source>
        <translation>Caption</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="375"/>
        <source>You captioned this image already; submitting replaces your caption.</source>
        <translation>You captioned this image already; submitting replaces your caption.</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="385"/>
        <source>Choose an annotator name to start.</source>
        <translation>Choose an annotator name to start.</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="387"/>
        <source>No image needs a caption right now.</source>
        <translation>No image needs a caption right now.</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="437"/>
        <source>Fix the caption first: each message says how.</source>
        <translation>Fix the caption first: each message says how.</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="449"/>
        <source>Caption saved.</source>
        <translation>Caption saved.</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="467"/>
        <source>This is the first image of this session.</source>
        <translation>This is the first image of this session.</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="479"/>
        <source>Nothing to undo: none of your captions is still waiting for validation.</source>
        <translation>Nothing to undo: none of your captions is still waiting for validation.</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="484"/>
        <source>Your last caption was withdrawn; edit and submit it.</source>
        <translation>Your last caption was withdrawn; edit and submit it.</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="493"/>
        <source>Loading tokenizer</source>
        <translation>Loading tokenizer</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="509"/>
        <source>Token preview unavailable: %1</source>
        <translation>Token preview unavailable: %1</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="519"/>
        <source>%1 pieces (%2 of %3 tokens): </source>
        <translation>%1 pieces (%2 of %3 tokens): </translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="528"/>
        <source>The caption is longer than the model&apos;s context (%1 of %2 tokens); the end will be cut off.</source>
        <translation>The caption is longer than the model&apos;s context (%1 of %2 tokens); the end will be cut off.</translation>
    </message>
</context>
<context>
    <name>CaptionRules</name>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="164"/>
        <source>The caption is empty.</source>
        <translation>The caption is empty.</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="166"/>
        <source>The caption has no words, only punctuation or symbols.</source>
        <translation>The caption has no words, only punctuation or symbols.</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="170"/>
        <source>Write at least %1 words (now %2).</source>
        <translation>Write at least %1 words (now %2).</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="173"/>
        <source>Separate words only with a space or &quot;, &quot; (found %1).</source>
        <translation>Separate words only with a space or &quot;, &quot; (found %1).</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="178"/>
        <source>Write words, not emoji or symbols (found %1).</source>
        <translation>Write words, not emoji or symbols (found %1).</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="183"/>
        <source>Do not start with &quot;%1&quot;: name the product right away.</source>
        <translation>Do not start with &quot;%1&quot;: name the product right away.</translation>
    </message>
</context>
<context>
    <name>ImageView</name>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="120"/>
        <source>Loading image…</source>
        <translation>Loading image…</translation>
    </message>
    <message>
        <location filename="../../gui/pages/caption_page.py" line="139"/>
        <source>This image cannot be shown: %1</source>
        <translation>This image cannot be shown: %1</translation>
    </message>
</context>
<context>
    <name>NameDialog</name>
    <message>
        <location filename="../../gui/annotator.py" line="64"/>
        <source>Annotator</source>
        <translation>Annotator</translation>
    </message>
    <message>
        <location filename="../../gui/annotator.py" line="68"/>
        <source>Who is writing captions? Your name is stored with every caption and verdict. There is no password; others can add their own names later.</source>
        <translation>Who is writing captions? Your name is stored with every caption and verdict. There is no password; others can add their own names later.</translation>
    </message>
    <message>
        <location filename="../../gui/annotator.py" line="73"/>
        <source>Name of the new annotator:</source>
        <translation>Name of the new annotator:</translation>
    </message>
</context>
<context>
    <name>OverviewPage</name>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="94"/>
        <source>Import captions…</source>
        <translation>Import captions…</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="95"/>
        <source>Export captions…</source>
        <translation>Export captions…</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="97"/>
        <source>No caption</source>
        <translation>No caption</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="98"/>
        <source>Awaiting validation</source>
        <translation>Awaiting validation</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="99"/>
        <location filename="../../gui/pages/overview_page.py" line="111"/>
        <source>Accepted</source>
        <translation>Accepted</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="100"/>
        <source>Rejected (back in the queue)</source>
        <translation>Rejected (back in the queue)</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="101"/>
        <source>Image problem</source>
        <translation>Image problem</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="105"/>
        <source>Images</source>
        <translation>Images</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="106"/>
        <source>Annotators</source>
        <translation>Annotators</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="109"/>
        <source>Annotator</source>
        <translation>Annotator</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="110"/>
        <source>Captions</source>
        <translation>Captions</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="112"/>
        <source>Rejected</source>
        <translation>Rejected</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="113"/>
        <source>Verdicts given</source>
        <translation>Verdicts given</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="116"/>
        <source>Refresh</source>
        <translation>Refresh</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="119"/>
        <location filename="../../gui/pages/overview_page.py" line="256"/>
        <source>Overview</source>
        <translation>Overview</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="145"/>
        <source>Counting captions</source>
        <translation>Counting captions</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="160"/>
        <source>Split: %1 train, %2 eval images (one in %3 held out for evaluation).</source>
        <translation>Split: %1 train, %2 eval images (one in %3 held out for evaluation).</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="170"/>
        <source>Agreement between validators: not yet known (needs captions with two or more verdicts; set verdicts per caption to 2 or more).</source>
        <translation>Agreement between validators: not yet known (needs captions with two or more verdicts; set verdicts per caption to 2 or more).</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="175"/>
        <source>Agreement between validators (Krippendorff&apos;s alpha, %1 captions): %2; %3% of verdict pairs agree.</source>
        <translation>Agreement between validators (Krippendorff&apos;s alpha, %1 captions): %2; %3% of verdict pairs agree.</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="187"/>
        <source>Import captions</source>
        <translation>Import captions</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="189"/>
        <source>Caption files (*.tsv *.csv *.jsonl);;All files (*)</source>
        <translation>Caption files (*.tsv *.csv *.jsonl);;All files (*)</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="200"/>
        <source>Importing captions</source>
        <translation>Importing captions</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="209"/>
        <source>Captions imported</source>
        <translation>Captions imported</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="213"/>
        <source>CSV, all captions (*.csv)</source>
        <translation>CSV, all captions (*.csv)</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="214"/>
        <source>JSONL, all captions (*.jsonl)</source>
        <translation>JSONL, all captions (*.jsonl)</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="215"/>
        <source>open_clip training CSV, accepted train captions (*.csv)</source>
        <translation>open_clip training CSV, accepted train captions (*.csv)</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="216"/>
        <source>Toloka TSV (*.tsv)</source>
        <translation>Toloka TSV (*.tsv)</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="219"/>
        <source>Export captions</source>
        <translation>Export captions</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="228"/>
        <source>Exporting captions</source>
        <translation>Exporting captions</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="232"/>
        <source>Captions exported</source>
        <translation>Captions exported</translation>
    </message>
    <message>
        <location filename="../../gui/pages/overview_page.py" line="233"/>
        <source>%1 captions written to %2</source>
        <translation>%1 captions written to %2</translation>
    </message>
</context>
<context>
    <name>ValidatePage</name>
    <message>
        <location filename="../../gui/pages/validate_page.py" line="87"/>
        <source>1  Appropriate</source>
        <translation>1  Appropriate</translation>
    </message>
    <message>
        <location filename="../../gui/pages/validate_page.py" line="88"/>
        <source>2  Inappropriate</source>
        <translation>2  Inappropriate</translation>
    </message>
    <message>
        <location filename="../../gui/pages/validate_page.py" line="89"/>
        <source>3  Image failed to load</source>
        <translation>3  Image failed to load</translation>
    </message>
    <message>
        <location filename="../../gui/pages/validate_page.py" line="93"/>
        <source>Skip (S)</source>
        <translation>Skip (S)</translation>
    </message>
    <message>
        <location filename="../../gui/pages/validate_page.py" line="96"/>
        <location filename="../../gui/pages/validate_page.py" line="191"/>
        <source>Validate</source>
        <translation>Validate</translation>
    </message>
    <message>
        <location filename="../../gui/pages/validate_page.py" line="146"/>
        <source>Choose an annotator name to start.</source>
        <translation>Choose an annotator name to start.</translation>
    </message>
    <message>
        <location filename="../../gui/pages/validate_page.py" line="148"/>
        <source>No caption needs your verdict right now.</source>
        <translation>No caption needs your verdict right now.</translation>
    </message>
    <message>
        <location filename="../../gui/pages/validate_page.py" line="154"/>
        <source>Language: %1 · verdicts so far: %2</source>
        <translation>Language: %1 · verdicts so far: %2</translation>
    </message>
    <message>
        <location filename="../../gui/pages/validate_page.py" line="170"/>
        <source>Verdict saved; the caption waits for more verdicts.</source>
        <translation>Verdict saved; the caption waits for more verdicts.</translation>
    </message>
    <message>
        <location filename="../../gui/pages/validate_page.py" line="171"/>
        <source>Verdict saved; the caption is accepted.</source>
        <translation>Verdict saved; the caption is accepted.</translation>
    </message>
    <message>
        <location filename="../../gui/pages/validate_page.py" line="173"/>
        <source>Verdict saved; the caption is rejected and the image is back in the caption queue.</source>
        <translation>Verdict saved; the caption is rejected and the image is back in the caption queue.</translation>
    </message>
    <message>
        <location filename="../../gui/pages/validate_page.py" line="175"/>
        <source>Verdict saved; the image is flagged as a problem.</source>
        <translation>Verdict saved; the image is flagged as a problem.</translation>
    </message>
</context>
</TS>
